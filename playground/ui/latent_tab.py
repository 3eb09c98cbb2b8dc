"""The Latent space tab: walk between two latent vectors of a generator, or nudge one.

The generator is either the one this session is training (used between two steps, through
Session.with_trainer, so a walk never sees half-updated weights) or an uploaded .safetensors
checkpoint (rebuilt by checkpoint.load_generator; safetensors never runs code on load).

"latent_strip" is one element, a gr.Column holding the frame strip (gr.Image, image data) and
the path over the real data (gr.Plot, point data); a walk shows the one that fits the data.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import numpy as np
import torch

from .. import charts
from ..checkpoint import CheckpointError, generate, load_generator
from ..config import ConfigError, TrainConfig, coerce
from ..latent import INTERPOLATIONS, interpolate, with_dimensions, z_from_seed
from ..pictures import image_grid, scatter
from ..registry import SessionRegistry
from .visitors import Visitors
from . import exports

SOURCES = [("the generator being trained", "session"), ("an uploaded checkpoint", "upload")]
METHODS = [("straight line (lerp)", "lerp"), ("great circle (slerp)", "slerp")]
MIN_FRAMES, MAX_FRAMES = 2, 32
N_DIMS = 4                       # sliders for the first latent coordinates
DIM_LIMIT = 4.0                  # slider range: a standard normal z rarely leaves +-4
STRIP_MAX_PX = 1600              # the strip's width: the cell scale shrinks as frames grow
REAL_POINTS = 1000
NO_MODEL = ("No generator yet. Train one on the Train tab (press Start or Step), or choose "
            "“an uploaded checkpoint” and upload a .safetensors file.")


class LatentError(ValueError):
    """A walk that cannot be made, with the reason in words."""


@dataclass(frozen=True)
class Model:
    """A generator to walk: its config, a z -> samples function and (points) the real data."""

    config: TrainConfig
    run: Callable[[torch.Tensor], torch.Tensor | None]
    real: np.ndarray | None

    @property
    def points(self) -> bool:
        return not self.config.is_image

    def __call__(self, z: torch.Tensor) -> np.ndarray:
        out = self.run(z)
        if out is None:          # the run was reset between two calls
            raise LatentError(NO_MODEL)
        return out.numpy()


def _whole(name: str, value: Any, low: int, high: int) -> int:
    """An integer field of this tab, refused with a message naming it."""
    try:
        number = coerce("seed", value)       # the config's rules for an integer
    except ConfigError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(name, value, f"an integer from {low} to {high}")
    return number


def _coordinate(name: str, value: Any, limit: float = DIM_LIMIT) -> float:
    """A latent coordinate from a slider, refused with a message naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if isinstance(value, bool) or not -limit <= number <= limit:   # NaN fails both comparisons
        raise ConfigError(name, value, f"a number from {-limit:g} to {limit:g}")
    return number


class LatentHandlers:
    """The Latent space tab's event handlers, bound to one SessionRegistry."""

    def __init__(self, registry: SessionRegistry, visitors: Visitors):
        self.registry = registry
        self.visitors = visitors

    def _model(self, request, source: str, upload: str | None) -> Model:
        if source == "upload":
            return self._uploaded(request, upload)
        session = self.registry.get(request.session_hash)
        config = session.with_trainer(lambda trainer: trainer.config)
        if config is None:
            raise LatentError(NO_MODEL)
        real = session.snapshot().real
        return Model(config, lambda z: session.with_trainer(lambda trainer: trainer.generate(z)),
                     None if real is None else real[:REAL_POINTS])     # i.i.d.: a prefix is fair

    def _uploaded(self, request, upload: str | None) -> Model:
        """The uploaded checkpoint's generator, loaded once per upload and kept with the session:
        Gradio deletes the uploaded file after exports.KEEP_FILES_S."""
        if not upload:
            raise LatentError("Upload a .safetensors checkpoint first (Train tab → Downloads makes one).")
        visitor = self.visitors.get(request.session_hash)
        kept = visitor.latent_model
        if kept is not None and kept[0] == upload:
            return kept[1]
        if Path(upload).suffix.lower() != ".safetensors":
            raise LatentError(f"{Path(upload).name!r} is not a .safetensors file: only .safetensors "
                              "checkpoints can be loaded (never pickles: they can run code)")
        if not Path(upload).is_file():
            raise LatentError("The uploaded checkpoint is no longer on the server (uploads are kept "
                              f"{exports.KEEP_FILES_S // 60} minutes): upload it again.")
        generator, config, _ = load_generator(upload)     # CheckpointError says what is wrong
        real = None
        if not config.is_image:
            from ..data import make_dataset               # point data: cheap, synthetic
            real = make_dataset(config).real_samples(REAL_POINTS)
        model = Model(config, lambda z: generate(generator, z), real)
        visitor.latent_model = (upload, model)
        return model

    # --- events ----------------------------------------------------------------------------
    def check_upload(self, request: gr.Request, upload: str | None) -> tuple[str, str]:
        """Say what an uploaded checkpoint holds, and switch to it (or back to the session)."""
        if not upload:
            return "", "session"
        try:
            config = self._uploaded(request, upload).config
        except (LatentError, CheckpointError) as err:
            return f"⚠️ {err}", "session"
        return (f"Loaded {Path(upload).name}: {config.arch} generator for {config.dataset}, "
                f"z_dim {config.z_dim}.", "upload")

    def random_seeds(self) -> tuple[str, str]:
        return str(random.randrange(10_000)), str(random.randrange(10_000))

    def interpolate(self, request: gr.Request, source: str, upload: str | None, seed_a, seed_b,
                    frames, method: str) -> tuple:
        """(message, strip image, path figure, GIF path) for a walk from seed A to seed B."""
        nothing = (gr.skip(), gr.skip(), None)
        try:
            a, b = _whole("seed_a", seed_a, 0, 2**31 - 1), _whole("seed_b", seed_b, 0, 2**31 - 1)
            count = _whole("frames", frames, MIN_FRAMES, MAX_FRAMES)
            if method not in INTERPOLATIONS:
                raise ConfigError("method", method, f"one of {tuple(INTERPOLATIONS)}")
            model = self._model(request, source, upload)
            z_dim = model.config.z_dim
            out = model(interpolate(z_from_seed(a, z_dim), z_from_seed(b, z_dim), count, method))
        except (ConfigError, LatentError, CheckpointError) as err:
            return (f"⚠️ {err}",) + nothing
        visitor = self.visitors.get(request.session_hash)
        folder = exports.folder_for(visitor.export_dir)
        visitor.export_dir = str(folder)
        gif = folder / "walk.gif"            # one per visitor: each walk replaces the last
        if model.points:
            # One fixed view for every frame, so the path grows instead of the axes jumping.
            shown = out if model.real is None else np.concatenate([out, model.real])
            shown = shown[np.isfinite(shown).all(axis=1)]            # a diverged G gives NaN
            extent = max(float(np.abs(shown).max()) * 1.1, 1e-3) if len(shown) else 1.0
            real = None if model.real is None else model.real[:300]
            pictures = [scatter(out[:i + 1], real, size=320, extent=extent) for i in range(count)]
            exports.write_gif(pictures, gif)
            figure = charts.path_figure(model.real, out)
            return (f"{count} points from seed {a} to seed {b} ({method})",
                    gr.update(visible=False), gr.update(visible=True, value=figure), str(gif))
        side = out.shape[-1]
        scale = max(1, min(4, STRIP_MAX_PX // (count * (side + 1))))
        strip = image_grid(out, columns=count, scale=scale)
        exports.write_gif([image_grid(out[i:i + 1], columns=1, scale=max(1, 160 // side))
                           for i in range(count)], gif)
        return (f"{count} frames from seed {a} to seed {b} ({method})",
                gr.update(visible=True, value=strip), gr.update(visible=False), str(gif))

    def slide(self, request: gr.Request, source: str, upload: str | None, seed_a, *dims) -> tuple:
        """(message, image, figure): one sample from seed A's z with its first coordinates set."""
        try:
            a = _whole("seed_a", seed_a, 0, 2**31 - 1)
            model = self._model(request, source, upload)
            coords = [_coordinate(f"z{i + 1}", d) for i, d in enumerate(dims)]
            z = with_dimensions(z_from_seed(a, model.config.z_dim), coords)
            out = model(z[None])
        except (ConfigError, LatentError, CheckpointError) as err:
            return f"⚠️ {err}", gr.skip(), gr.skip()
        shown = ", ".join(f"z{i + 1}={d:+.2f}" for i, d in enumerate(coords[:model.config.z_dim]))
        if model.points:
            return (f"one sample at {shown}", gr.update(visible=False),
                    gr.update(visible=True, value=charts.path_figure(model.real, out, line=False)))
        picture = image_grid(out, columns=1, scale=max(1, 192 // out.shape[-1]))
        return f"one sample at {shown}", gr.update(visible=True, value=picture), gr.update(visible=False)


def build_latent_tab(handlers: LatentHandlers) -> None:
    """The Latent space tab's components and events (inside an open gr.Tab)."""
    gr.Markdown(
        "A generator turns a random vector **z** into a sample. Nearby vectors give similar "
        "samples, so walking in a straight line (or along a great circle) from one z to another "
        "morphs one sample into the other. A *seed* names a z: the same seed, the same z.")
    with gr.Row():
        source = gr.Radio(SOURCES, value="session", label="Generator", elem_id="latent_source")
        upload = gr.File(label="Checkpoint (.safetensors)", file_types=[".safetensors"],
                         type="filepath", height=120, elem_id="checkpoint_upload")
    with gr.Row():
        # Text boxes, not gr.Number: Gradio would refuse text or NaN with a generic error
        # before _whole() can name the field.
        seed_a = gr.Textbox("1", label="Seed A", max_lines=1, elem_id="seed_a")
        seed_b = gr.Textbox("2", label="Seed B", max_lines=1, elem_id="seed_b")
        shuffle = gr.Button("Random seeds", elem_id="random_seeds")
        frames = gr.Slider(MIN_FRAMES, MAX_FRAMES, value=8, step=1, label="Frames",
                           elem_id="frames")
        method = gr.Radio(METHODS, value="slerp", label="Path", elem_id="method")
    go_button = gr.Button("Interpolate", variant="primary", elem_id="interpolate")
    message = gr.Markdown("", elem_id="latent_message")
    with gr.Column(elem_id="latent_strip"):
        strip = gr.Image(label="From A to B", type="pil", format="png", interactive=False,
                         height=180, elem_id="latent_strip_image")
        path = gr.Plot(label="The path over the real data", visible=False, elem_id="latent_path")
    gif = gr.File(label="Animated GIF", interactive=False, elem_id="latent_gif")
    with gr.Accordion(f"Move along the first {N_DIMS} latent coordinates", open=False):
        gr.Markdown("The other coordinates of z come from seed A.")
        with gr.Row():
            sliders = [gr.Slider(-3, 3, value=0, step=0.05, label=f"z{i + 1}", elem_id=f"z{i + 1}")
                       for i in range(N_DIMS)]
        one_image = gr.Image(label="Sample", type="pil", format="png", interactive=False,
                             elem_id="latent_sample")
        one_plot = gr.Plot(label="Sample over the real data", visible=False,
                           elem_id="latent_sample_plot")

    upload.change(handlers.check_upload, [upload], [message, source], api_name="load_checkpoint",
                  show_progress="hidden")
    shuffle.click(handlers.random_seeds, None, [seed_a, seed_b], api_name="random_seeds",
                  show_progress="hidden")
    # A walk is a few generator passes plus PNG/GIF encoding: CPU work, so at most two at once.
    go_button.click(handlers.interpolate, [source, upload, seed_a, seed_b, frames, method],
                    [message, strip, path, gif], api_name="interpolate", concurrency_limit=2)
    gr.on([s.input for s in sliders], handlers.slide, [source, upload, seed_a, *sliders],
          [message, one_image, one_plot], api_name="latent_dims", trigger_mode="always_last",
          concurrency_limit=2, show_progress="hidden")
