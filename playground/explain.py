"""Explain one step: one real training step of a Trainer in slow motion, as three phases.

    phases = explain_step(trainer)     # the step itself: trainer.step_count advances by 1
    phase.name, phase.caption, phase.arrays   # PHASE_NAMES[i], one sentence, plain numpy

  "batch"     a real batch is drawn and G turns noise z into a fake batch (over D's view);
  "d_update"  D updates (d_steps times): its heatmap (points) or its scores (images), before -> after;
  "g_update"  G updates (g_steps times): the fakes of the SAME z before and after, with the
              gradient arrows that moved them (points) and D's scores of both.

It is the run's real step, not a rehearsal on a copy: a student who asks what a step does should
see the step the run takes. So explain_step is Trainer.step spelled out with Trainer's own
pieces, in step()'s order: d_update (the last one handed the batch drawn here by draw_batch,
so it can be shown), g_update on the fakes the last D update kept, count_step. In between it
only *reads* the networks, so the same seed gives the same weights, optimizer state, RNG
streams and StepStats whether a step was explained or taken (tests/test_explain.py):
- D's heatmap and G's arrows come from field.field_view (D in eval mode);
- fakes and D's scores come from a forward pass in training mode, the mode the losses see
  (BatchNorm uses the batch's own statistics), with the module's buffers (BatchNorm running
  statistics, spectral norm's u and v) put back afterwards;
- "before" means before this step's first D update: D is copied when the step starts.

In the app, the Train tab's "Explain one step" button (the UI adds it) calls, best while the
run is paused so the pictures stay the run's latest,
    phases = session.with_trainer(explain_step)     # between two steps, under the step lock
and shows the phases one at a time (Next, or auto-advance) with their captions: for points
charts.explain.phase_figure(phase, snapshot.real, extent_of(snapshot.real)), for images
charts.explain.phase_image(phase). Phases are small plain data (numpy, at most a batch of
points or SHOWN_IMAGES images a row), fit to keep in a gr.State between clicks. The default
`extent` is extent_of(the dataset's real_samples(2000)): the same view as the Train tab's field.
Afterwards trainer.last_stats is the step's StepStats, as after trainer.step(); with_trainer
goes round Run.step, so the Run's History and RunLog see the step only if the caller adds
trainer.last_stats there. A diverged trainer takes no step (as in Trainer.step): no phases.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from .field import extent_of, field_view
from .trainer import Trainer

PHASE_NAMES = ("batch", "d_update", "g_update")
SHOWN_IMAGES = 8          # images kept per row: a batch of 256 would be unreadable and heavy
REAL_SAMPLES = 2000       # real points the view's extent comes from: Run.real's count and seed


@dataclass(frozen=True)
class Phase:
    """One moment of the explained step: a name from PHASE_NAMES, one sentence, its arrays.

    arrays (float32 numpy; B = batch size, n = min(B, SHOWN_IMAGES), G = field grid, K = arrows):
      points: "real", "fake" (B, 2); "xs", "ys" (G,); "d" (G, G) D's heatmap at that moment;
              "d_update" adds "d_before" (G, G); "g_update" adds "fake_after" (B, 2), "arrows" (K, 4).
      images: "real", "fake" (n, C, H, W); "g_update" adds "fake_after" (n, C, H, W).
      both:   "d_real", "d_fake" (B,) D's scores then; "d_update" adds "d_real_before",
              "d_fake_before"; "g_update" adds "d_fake_after" (B,) and "z" (B, z_dim).
    """

    name: str
    caption: str
    arrays: dict[str, np.ndarray]


def explain_step(trainer: Trainer, extent: float | None = None) -> list[Phase]:
    """One training step of `trainer` (as trainer.step()), recorded as the three phases."""
    if trainer.diverged:
        return []
    points = trainer.dataset.kind == "points"
    if points and extent is None:
        extent = extent_of(trainer.dataset.real_samples(REAL_SAMPLES))
    d_before = copy.deepcopy(trainer.discriminator)    # D as the step found it
    values, real, z, fake = _d_updates(trainer)
    before = _judge(trainer, d_before, real, fake, extent if points else None)
    after_d = _judge(trainer, trainer.discriminator, real, fake, extent if points else None)
    for _ in range(trainer.config.g_steps):
        values.update(trainer.g_update(values.pop("fake", None)))
    trainer.count_step(values)
    fake_after = _quiet(trainer.generator, z)           # the SAME z through the updated G
    moved = {"fake_after": _numpy(fake_after), "z": _numpy(z),
             "d_fake_after": _scores(trainer, trainer.discriminator, fake_after)}
    batch = {"real": _numpy(real), "fake": _numpy(fake)}
    if not points:
        batch = {key: value[:SHOWN_IMAGES] for key, value in batch.items()}
        moved["fake_after"] = moved["fake_after"][:SHOWN_IMAGES]
    return _phases(trainer, batch, before, after_d, moved)


def _d_updates(trainer: Trainer) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The step's d_steps D updates, as Trainer.step makes them; the last one's batch drawn here.

    Returns the statistics so far (with "fake", G(z) with its graph, for the first G update),
    the real batch (B, *shape), its z (B, z_dim) and the fakes G(z), detached.
    """
    values: dict[str, torch.Tensor] = {}
    for _ in range(trainer.config.d_steps - 1):
        values.update(trainer.d_update())
    real, z = trainer.draw_batch()
    # keep_fake as in step(): g_steps >= 1 (config.py), so the last D update keeps its fakes.
    values.update(trainer.d_update(keep_fake=True, batch=(real, z)))
    return values, real.detach(), z, values["fake"].detach()


def _judge(trainer: Trainer, discriminator, real: torch.Tensor, fake: torch.Tensor,
           extent: float | None) -> dict[str, np.ndarray]:
    """What `discriminator` says of the batch: its scores, and for points (extent given) its
    heatmap and G's arrows on the fakes (field_view reads device, loss and discriminator)."""
    arrays = {"d_real": _scores(trainer, discriminator, real),
              "d_fake": _scores(trainer, discriminator, fake)}
    if extent is not None:
        view = SimpleNamespace(device=trainer.device, loss=trainer.loss, discriminator=discriminator)
        arrays.update(field_view(view, fake, extent))
    return arrays


@torch.no_grad()
def _quiet(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """module(x) in its current mode, with its buffers put back: reads the network, changes nothing."""
    saved = [buffer.clone() for buffer in module.buffers()]
    try:
        return module(x)
    finally:
        for buffer, value in zip(module.buffers(), saved):
            buffer.copy_(value)


def _scores(trainer: Trainer, discriminator, x: torch.Tensor) -> np.ndarray:
    """D's output on each row of x read as "probability it is real": (B,)."""
    return _numpy(trainer.loss.prob(_quiet(discriminator, x)))


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def _phases(trainer: Trainer, batch: dict, before: dict, after_d: dict, moved: dict) -> list[Phase]:
    """The three phases' arrays, and their captions."""
    points = trainer.dataset.kind == "points"
    field_keys = ("xs", "ys", "d") if points else ()
    first = {**batch, **{key: before[key] for key in ("d_real", "d_fake", *field_keys)}}
    second = {**batch, "d_real_before": before["d_real"], "d_fake_before": before["d_fake"],
              **{key: after_d[key] for key in ("d_real", "d_fake", *field_keys)}}
    if points:
        second["d_before"] = before["d"]
    third = {**batch, **{key: after_d[key] for key in ("d_real", "d_fake", *field_keys)}, **moved}
    if points:
        third["arrows"] = after_d["arrows"]
    captions = _captions(trainer, before, after_d, moved)
    return [Phase(name, caption, {key: np.asarray(value, np.float32) for key, value in arrays.items()})
            for name, caption, arrays in zip(PHASE_NAMES, captions, (first, second, third))]


def _updates(count: int) -> str:
    return "one gradient step" if count == 1 else f"{count} gradient steps"


def _captions(trainer: Trainer, before: dict, after_d: dict, moved: dict) -> tuple[str, str, str]:
    """One sentence per phase, with the batch's mean D scores (1 = "real", 0 = "fake"); three
    decimals, because one step early in training moves them by a hundredth or less."""
    config, points = trainer.config, trainer.dataset.kind == "points"
    what = "points" if points else "images"
    size = len(before["d_real"])
    r0, f0 = float(np.mean(before["d_real"])), float(np.mean(before["d_fake"]))
    r1, f1 = float(np.mean(after_d["d_real"])), float(np.mean(after_d["d_fake"]))
    f2 = float(np.mean(moved["d_fake_after"]))
    shown = "" if points or size <= SHOWN_IMAGES else f" (the first {SHOWN_IMAGES} of each are shown)"
    last = "" if config.d_steps == 1 else f", the batch of the last of D's {config.d_steps} updates"
    batch = (f"A batch of {size} real {what} is drawn from the data and G turns {size} random "
             f"noise vectors z into {size} fake {what}{shown}{last}.")
    where = "its map of real and fake changes" if points else "its scores change"
    d_update = (f"D takes {_updates(config.d_steps)} to score real {what} higher and fakes lower, "
                f"so {where}: on average {r0:.3f} → {r1:.3f} for the real {what} and "
                f"{f0:.3f} → {f1:.3f} for the fakes.")
    how = ("each fake moves along its arrow, the way that raises D's score"
           if points else "the same noise z now gives the second row of images")
    g_update = (f"G takes {_updates(config.g_steps)} to fool D: {how}, and D's average score "
                f"of the fakes goes from {f1:.3f} to {f2:.3f}.")
    return batch, d_update, g_update
