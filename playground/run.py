"""Run: the one training loop. A Trainer, its History, the evaluation cadence and diagnosis,
with observers for everything else (minGPT's `Trainer.run` + `add_callback`).

    run = Run(load_preset("ring_stable"))
    run.add_callback("on_eval", lambda run, quality: print(run.step_count, quality))
    run.train(2000)                       # the CLI
    stats = run.step()                    # the app's worker thread, one step at a time

The CLI, the app's Session thread and the benchmarks all drive this loop, so they evaluate at
the same steps, keep the same History and log the same columns. The loop itself is
deterministic: evaluations happen every `eval_every` steps (and, when a time cap is given,
also after `eval_max_s` seconds without one). An evaluation only *reads* the networks (fixed
latent batch, eval mode), so it never changes the numbers of the steps that follow: a run with
a time cap has the same step statistics as one without.

Events (each observer is called as fn(run, payload)):
    on_step    StepStats of the step just taken
    on_eval    the quality dict just added to History.evals
    on_diverge StepStats of the step that went non-finite
    on_apply   {key: value} of a live edit, before the next step
    on_end     None, when train() returns
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any, Callable

import numpy as np

from .config import TrainConfig
from .diagnose import Finding, diagnose
from .history import History
from .metrics import evaluate
from .trainer import StepStats, Trainer

EVAL_SAMPLES = 2000          # the mode and digit metrics need >= 2000 samples
EVENTS = ("on_step", "on_eval", "on_diverge", "on_apply", "on_end")
Observer = Callable[["Run", Any], None]


def eval_every(config: TrainConfig) -> int:
    """Steps between quality evaluations: image steps are slower, so evaluate more often per step.

    Measured (bench metric_cost): an evaluation costs ~10-20 ms on points and ~60 ms on digits,
    so these strides keep evaluation well under 10 % of training time.
    """
    return 200 if config.is_image else 500


class Run:
    """One GAN run from fresh weights (or a given Trainer). Not thread-safe: one driver at a time."""

    def __init__(self, config: TrainConfig, trainer: Trainer | None = None,
                 every: int | None = None, eval_max_s: float | None = None):
        self.trainer = trainer if trainer is not None else Trainer(config)
        self.history = History()
        self.every = every or eval_every(self.trainer.config)
        self.eval_max_s = eval_max_s
        dataset = self.trainer.dataset
        # The real samples every evaluation compares with (and the field view draws): fixed once.
        self.real = dataset.real_samples(EVAL_SAMPLES)        # (2000, *shape) float32
        self.quality: dict = {}
        self.edits: list[dict] = []      # live edits: {"step": N, key: value, ...}
        self._callbacks: dict[str, list[Observer]] = defaultdict(list)
        self._last_eval_step = 0
        self._last_eval_time = time.monotonic()
        self.train_s = 0.0               # seconds spent in Trainer.step (the measured rate)
        self.log = None                  # a run_log.RunLog writing this run's CSVs, if any
        self.film = None                 # a film.Film of the samples view, if recorded

    # --- observers ---------------------------------------------------------------------------
    def add_callback(self, event: str, fn: Observer) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; one of {EVENTS}")
        self._callbacks[event].append(fn)

    def _fire(self, event: str, payload: Any = None) -> None:
        for fn in self._callbacks[event]:
            fn(self, payload)

    # --- the loop ----------------------------------------------------------------------------
    @property
    def config(self) -> TrainConfig:
        return self.trainer.config

    @property
    def step_count(self) -> int:
        return self.trainer.step_count

    @property
    def diverged(self) -> bool:
        return self.trainer.diverged

    def step(self, d_steps: int | None = None, g_steps: int | None = None) -> StepStats:
        """One training step, its History row, and an evaluation when one is due."""
        began = time.perf_counter()
        stats = self.trainer.step(d_steps, g_steps)
        self.train_s += time.perf_counter() - began
        return self.record(stats)

    def record(self, stats: StepStats) -> StepStats:
        """Book a step the Trainer has just taken: its History row, the observers, and an
        evaluation when one is due. step() calls it; so does a step taken in slow motion
        (explain.explain_step), which is a real step of the run like any other."""
        self.history.add(stats.to_dict())
        self._fire("on_step", stats)
        if not stats.finite:
            self._fire("on_diverge", stats)
        elif self._eval_due():
            self.evaluate()
        return stats

    def train(self, steps: int, should_stop: Callable[[], bool] | None = None) -> None:
        """`steps` more steps (fewer if the run diverges or should_stop() says so), then a final
        evaluation, so the last row of History.evals describes the final weights."""
        for _ in range(steps):
            if self.diverged or (should_stop is not None and should_stop()):
                break
            self.step()
        if not self.diverged and self._last_eval_step != self.step_count:
            self.evaluate()
        self._fire("on_end")

    def _eval_due(self) -> bool:
        if self.step_count - self._last_eval_step >= self.every:
            return True
        return (self.eval_max_s is not None
                and time.monotonic() - self._last_eval_time >= self.eval_max_s)

    # --- evaluation and diagnosis ---------------------------------------------------------
    def evaluate(self) -> dict:
        """Quality of the current weights on the fixed latent batch; recorded in History.evals."""
        self._last_eval_step = self.step_count
        self._last_eval_time = time.monotonic()
        samples = self.trainer.sample(EVAL_SAMPLES).numpy()
        if not np.isfinite(samples).all():
            return {}
        quality = evaluate(self.trainer.dataset, samples, self.real)
        if quality:
            self.quality = quality
            self.history.add_eval({"step": self.step_count, **quality})
            self._fire("on_eval", quality)
        return quality

    def findings(self) -> list[Finding]:
        """What diagnose.py sees in the recent window and the evaluations, most severe first."""
        return diagnose(self.history.recent_columns(), self.config.loss, self.history.evals)

    # --- live edits ------------------------------------------------------------------------
    def apply(self, **changes) -> TrainConfig:
        """Live edit between steps (validated by the Trainer); recorded as an event of the run."""
        before = self.config
        config = self.trainer.apply(**changes)
        changed = {k: getattr(config, k) for k in changes if getattr(before, k) != getattr(config, k)}
        if changed:
            self.edits.append({"step": self.step_count, **changed})
            self._fire("on_apply", changed)
        return config

    def restore_last_good(self) -> None:
        self.trainer.restore_last_good()

    @property
    def steps_per_s(self) -> float:
        """Training steps per second of time spent stepping (renders and evaluations excluded)."""
        return self.step_count / self.train_s if self.train_s > 0 else 0.0

    def summary(self, wall_s: float) -> dict:
        """summary.json: the final quality, steps, wall time, rate, divergence, finding codes."""
        return {**self.quality, "steps": self.step_count, "wall_s": round(wall_s, 2),
                "steps_per_s": round(self.step_count / wall_s, 2) if wall_s > 0 else math.nan,
                "diverged": self.diverged, "findings": [f.code for f in self.findings()]}
