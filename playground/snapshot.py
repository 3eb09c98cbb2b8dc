"""Snapshot: everything the page shows about a run at one moment, built from a Run between steps.

    snap = render(run, previous, state="running")   # the worker, under the step lock, ~1 Hz
    snap.samples, snap.field, snap.curves ...        # the UI reads it without any lock

A snapshot is never mutated after creation, so a page tick can read it while the worker trains.
Rendering only *reads* the networks: samples come from the fixed latent batch in eval mode and
the field view runs D in eval mode (field.py), so a rendered run has the same numbers, step for
step, as the CLI's run of the same config and seed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
from .diagnose import Finding
from .field import extent_of, field_view, manifold

POINT_SAMPLES = 300           # fakes drawn in the field view (charts.FIELD_POINTS)
IMAGE_SAMPLES = 64            # an 8 x 8 grid
REAL_POINTS = 2000            # real points behind the fakes


@dataclass(frozen=True)
class Notice:
    """The outcome of the last command, as a code and its details; the UI words it."""

    code: str                     # e.g. "started", "paused", "applied" (ui/wording.py)
    detail: tuple = ()            # (key, value) pairs: what the wording needs

    def get(self, key: str, default=None):
        return dict(self.detail).get(key, default)


@dataclass(frozen=True)
class Snapshot:
    """Everything the page shows about a run at one moment. Never mutated after creation."""

    state: str                          # "idle" | "running" | "paused" | "diverged" | "stopped"
    step: int = 0
    steps_per_s: float = 0.0            # measured from the step counter over the last seconds
    elapsed_s: float = 0.0              # wall time spent running
    kind: str = "points"                # "points" | "images"
    curves: dict = field(default_factory=dict)       # History.columns(), <= ~1000 points each
    evals: tuple = ()                   # quality rows over time
    edits: tuple = ()                   # live edits: ({"step": N, key: value}, ...)
    samples: np.ndarray | None = None   # points (N, 2) or images (N, C, H, W) in [-1, 1]
    real: np.ndarray | None = None      # points: real data behind the fakes
    field: dict | None = None           # points: D heatmap + G arrows (field.field_view)
    manifold: np.ndarray | None = None  # points with z_dim == 2
    findings: tuple[Finding, ...] = ()
    notice: Notice = Notice("ready")
    config: TrainConfig | None = None
    version: int = 0                    # bumps when samples / charts change
    can_restore: bool = False           # a divergence left last good weights to go back to
    film_steps: tuple = ()              # the steps of the run's recorded frames (film.Film)


def render(run, previous: Snapshot, state: str | None = None) -> Snapshot:
    """The next snapshot of `run` (call between steps: it runs G and D forward)."""
    trainer = run.trainer
    points = trainer.dataset.kind == "points"
    samples = trainer.sample(POINT_SAMPLES if points else IMAGE_SAMPLES)
    finite = bool(np.isfinite(samples.numpy()).all())
    field_data = curve_manifold = None
    real = run.real[:REAL_POINTS] if points else None
    if points and finite:
        field_data = field_view(trainer, samples, extent_of(run.real))
        curve_manifold = manifold(trainer)
    if run.film is not None and finite:
        run.film.add(trainer.step_count, samples.numpy(), field_data)   # what this frame shows
    return dataclasses.replace(
        previous, kind=trainer.dataset.kind, curves=run.history.columns(),
        evals=tuple(run.history.evals), edits=tuple(run.edits), samples=samples.numpy(),
        real=real, field=field_data, manifold=curve_manifold, findings=tuple(run.findings()),
        config=trainer.config, version=previous.version + 1, can_restore=run.diverged,
        film_steps=tuple(run.film.steps()) if run.film is not None else (),
        state=state or previous.state)
