"""The Latent space tab's handlers: walk between two latent vectors of a generator, or nudge one.

The generator is either the one this session is training (used between two steps, through
Session.with_trainer, so a walk never sees half-updated weights) or an uploaded .safetensors
checkpoint (rebuilt by checkpoint.load_generator; safetensors never runs code on load), kept
with the visitor (ui/visitors.py) because Gradio deletes the uploaded file after a while.

Handlers take and return dicts keyed by elem_id (ui/page.py), like the Train tab's.
"""
from __future__ import annotations

import math
import operator
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
from . import exports
from .visitors import Visitors

SOURCES = [("the generator being trained", "session"), ("an uploaded checkpoint", "upload")]
METHODS = [("straight line (lerp)", "lerp"), ("great circle (slerp)", "slerp")]
MIN_FRAMES, MAX_FRAMES = 2, 32
MAX_DIMS = 8                     # sliders for the first latent coordinates (as many as z_dim, capped)
STRIP_COLUMNS = 8                # a long walk wraps into rows of this many frames
DIM_LIMIT = 4.0                  # slider range: a standard normal z rarely leaves +-4
STRIP_MAX_PX = 1200              # the strip's width: each frame keeps >= 1200 / 8 px
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
        config = session.with_trainer(operator.attrgetter("config"))
        if config is None:
            raise LatentError(NO_MODEL)
        real = session.snapshot().real
        return Model(config, lambda z: session.with_trainer(operator.methodcaller("generate", z)),
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
    def check_upload(self, request, values) -> dict:
        """Say what an uploaded checkpoint holds, and switch to it (or back to the session)."""
        upload = values.get("checkpoint_upload")
        if not upload:
            return {"latent_message": "", "latent_source": "session"}
        try:
            config = self._uploaded(request, upload).config
        except (LatentError, CheckpointError) as err:
            return {"latent_message": f"⚠️ {err}", "latent_source": "session"}
        return {"latent_message": f"Loaded {Path(upload).name}: {config.arch} generator for "
                                  f"{config.dataset}, z_dim {config.z_dim}.",
                "latent_source": "upload", **self._sliders(config.z_dim)}

    def random_seeds(self, request, values) -> dict:
        return {"seed_a": str(random.randrange(10_000)), "seed_b": str(random.randrange(10_000))}

    def interpolate(self, request, values) -> dict:
        """The walk from seed A to seed B: frames (images) or a path (points), and its GIF."""
        try:
            a = _whole("Seed A", values.get("seed_a"), 0, 2**31 - 1)
            b = _whole("Seed B", values.get("seed_b"), 0, 2**31 - 1)
            count = _whole("Frames", values.get("frames"), MIN_FRAMES, MAX_FRAMES)
            method = values.get("method")
            if method not in INTERPOLATIONS:
                raise ConfigError("Path", method, f"one of {tuple(INTERPOLATIONS)}")
            model = self._model(request, values.get("latent_source"), values.get("checkpoint_upload"))
            z_dim = model.config.z_dim
            out = model(interpolate(z_from_seed(a, z_dim), z_from_seed(b, z_dim), count, method))
        except (ConfigError, LatentError, CheckpointError) as err:
            return {"latent_message": f"⚠️ {err}"}
        visitor = self.visitors.get(request.session_hash)
        folder = exports.folder_for(visitor.export_dir)
        visitor.export_dir = str(folder)
        gif = folder / "walk.gif"            # one per visitor: each walk replaces the last
        sliders = self._sliders(z_dim)
        if model.points:
            # One fixed view for every frame, so the path grows instead of the axes jumping.
            shown = out if model.real is None else np.concatenate([out, model.real])
            shown = shown[np.isfinite(shown).all(axis=1)]            # a diverged G gives NaN
            extent = max(float(np.abs(shown).max()) * 1.1, 1e-3) if len(shown) else 1.0
            real = None if model.real is None else model.real[:300]
            pictures = [scatter(out[:i + 1], real, size=320, extent=extent) for i in range(count)]
            exports.write_gif(pictures, gif)
            return {"latent_message": f"{count} points from seed {a} to seed {b} ({method})",
                    "latent_strip_image": gr.update(visible=False),
                    "latent_path": gr.update(visible=True, value=charts.path_figure(model.real, out)),
                    "latent_gif": str(gif), **sliders}
        side = out.shape[-1]
        columns = min(count, STRIP_COLUMNS)
        scale = max(1, min(8, STRIP_MAX_PX // (columns * (side + 1))))
        exports.write_gif([image_grid(out[i:i + 1], columns=1, scale=max(1, 160 // side))
                           for i in range(count)], gif)
        return {"latent_message": f"{count} frames from seed {a} to seed {b} ({method}), "
                                  f"read left to right, top to bottom",
                "latent_strip_image": gr.update(visible=True,
                                                value=image_grid(out, columns=columns, scale=scale)),
                "latent_path": gr.update(visible=False), "latent_gif": str(gif), **sliders}

    def slide(self, request, values) -> dict:
        """One sample from seed A's z with its first coordinates set by the sliders."""
        try:
            a = _whole("Seed A", values.get("seed_a"), 0, 2**31 - 1)
            model = self._model(request, values.get("latent_source"), values.get("checkpoint_upload"))
            shown_dims = min(model.config.z_dim, MAX_DIMS)
            coords = [_coordinate(f"z{i + 1}", values.get(f"z{i + 1}", 0)) for i in range(shown_dims)]
            z = with_dimensions(z_from_seed(a, model.config.z_dim), coords)
            out = model(z[None])
        except (ConfigError, LatentError, CheckpointError) as err:
            return {"latent_message": f"⚠️ {err}"}
        shown = ", ".join(f"z{i + 1}={d:+.2f}" for i, d in enumerate(coords))
        if model.points:
            return {"latent_message": f"one sample at {shown}",
                    "latent_sample": gr.update(visible=False),
                    "latent_sample_plot": gr.update(visible=True, value=charts.path_figure(
                        model.real, out, line=False))}
        picture = image_grid(out, columns=1, scale=max(1, 192 // out.shape[-1]))
        return {"latent_message": f"one sample at {shown}",
                "latent_sample": gr.update(visible=True, value=picture),
                "latent_sample_plot": gr.update(visible=False)}

    def show_dims(self, request, values) -> dict:
        """As many sliders as the generator has latent coordinates (the tab was opened)."""
        try:
            model = self._model(request, values.get("latent_source"), values.get("checkpoint_upload"))
        except (ConfigError, LatentError, CheckpointError):
            return {}
        return self._sliders(model.config.z_dim)

    @staticmethod
    def _sliders(z_dim: int) -> dict:
        return {f"z{i + 1}": gr.update(visible=i < z_dim) for i in range(MAX_DIMS)}


SLIDER_IDS = tuple(f"z{i + 1}" for i in range(MAX_DIMS))
