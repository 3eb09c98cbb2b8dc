"""Comparison: two GAN runs, A and B, trained side by side in one background thread.

A lesson often says "change this knob and see": the Compare tab trains both versions at once,
from the same seed (so from the same initial weights, unless the seed is the knob), and shows
their curves overlaid. As a run against the server's cap, a comparison counts as ONE
(SessionRegistry.start_job): one thread steps both.

    comparison = Comparison()
    comparison.start(config_a, config_b)   # one Ensemble when the shapes match, else 2 Trainers
    comparison.update("b", lr_d=2e-3)      # applied to B only, between two steps
    snap = comparison.snapshot()           # immutable CompareSnapshot, cheap (what the UI reads)

`Pair` is the engine: A and B as one ensemble.Ensemble when they agree on SHAPE_KEYS
(ensemble.group_by_shape), else two Trainers stepped in turn. A live edit that would change a
shape key of one member (d_steps, say) splits the ensemble into its two members'
Trainers (Ensemble.member_trainer: exact continuation) and goes on with those.

Threads and locks follow worker.py: `_command_lock` makes commands one at a time (the worker
never takes it), `_step_lock` guards the pair for a whole step or render, `_lock` guards the
fields for moments, and builds hold worker.BUILD_LOCK (a build seeds torch's global RNG).
A comparison preset is a lesson JSON with a `compare` key: {"b": {"loss": "nonsaturating"}}
(and optionally "a"), read by `read_comparison`.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass

import numpy as np

from .budget import check_budget
from .config import (LIVE_KEYS, PRESETS_DIR, ConfigError, Preset, TrainConfig, check_live,
                     get_preset, preset_names)
from .data import make_dataset
from .diagnose import diagnose
from .ensemble import SHAPE_KEYS, Ensemble, group_by_shape
from .history import History
from .metrics import evaluate
from .run import EVAL_SAMPLES, eval_every
from .session import RENDER_EVERY_S
from .snapshot import IMAGE_SAMPLES, Notice
from .trainer import StepStats, Trainer
from .worker import BUILD_LOCK, Worker, command

SIDES = ("a", "b")
POINT_SAMPLES = 500
DATA_KEYS = ("dataset", "data_path", "data_root", "image_size")


# --- comparison presets --------------------------------------------------------------------
def comparison_names() -> list[str]:
    """The presets that declare a comparison (a `compare` key in their JSON)."""
    return [name for name in preset_names() if "compare" in _raw(name)]


def _raw(name: str) -> dict:
    return json.loads((PRESETS_DIR / f"{name}.json").read_text())


def read_comparison(name: str) -> tuple[Preset, TrainConfig, TrainConfig]:
    """(preset, A, B) of a comparison preset: A is the preset's config with compare["a"], B is
    A with compare["b"]; a preset without a comparison, or a bad value, is a ConfigError."""
    preset = get_preset(name)              # checks the name before any path is built from it
    compare = _raw(name).get("compare")
    if not isinstance(compare, dict) or not isinstance(compare.get("b"), dict):
        raise ConfigError("compare", name, 'a preset with "compare": {"b": {key: value}}')
    a = preset.config.replace(**compare.get("a", {}))
    return preset, a, a.replace(**compare["b"])


def differences(a: TrainConfig, b: TrainConfig) -> dict[str, tuple]:
    """{key: (A's value, B's value)} for every key where the two differ, in the config's order."""
    return {k: (v, getattr(b, k)) for k, v in a.to_dict().items() if getattr(b, k) != v}


# --- the engine: A and B stepped together --------------------------------------------------
class Pair:
    """A and B: one Ensemble when their shapes match, else two Trainers stepped in turn.
    Not thread-safe (the Comparison's worker drives it under its step lock)."""

    def __init__(self, a: TrainConfig, b: TrainConfig):
        dataset = make_dataset(a)          # loaded before the build lock, as session.build_run
        shared = all(getattr(a, k) == getattr(b, k) for k in DATA_KEYS)
        other = dataset if shared else make_dataset(b)
        with BUILD_LOCK:
            if len(group_by_shape([a, b])) == 1:
                self.ensemble, self.trainers = Ensemble([a, b], dataset=dataset), None
            else:
                self.ensemble = None
                self.trainers = [Trainer(a, dataset=dataset), Trainer(b, dataset=other)]
        self.datasets = (dataset, other)
        self.step_count = 0

    @property
    def together(self) -> bool:
        """True while A and B are one vectorised computation (one Ensemble)."""
        return self.ensemble is not None and self.ensemble.vectorised

    @property
    def configs(self) -> list[TrainConfig]:
        return list(self.ensemble.configs) if self.ensemble else [t.config for t in self.trainers]

    @property
    def diverged(self) -> list[bool]:
        return list(self.ensemble.diverged) if self.ensemble else [t.diverged for t in self.trainers]

    def step(self) -> list[StepStats]:
        """One step of A and of B (a diverged side keeps returning its last stats)."""
        stats = self.ensemble.step() if self.ensemble else [t.step() for t in self.trainers]
        self.step_count += 1
        return stats

    def apply(self, k: int, **changes) -> TrainConfig:
        """A live edit of side k only; a changed shape key splits the ensemble first."""
        if self.ensemble is not None:
            candidate = self.configs[k].replace(**changes)
            same_shape = all(getattr(candidate, key) == getattr(self.configs[k], key) for key in SHAPE_KEYS)
            if same_shape or not self.ensemble.vectorised:
                return self.ensemble.apply(k, **changes)
            with BUILD_LOCK:          # member_trainer builds a Trainer (seeded construction)
                self.trainers = [self.ensemble.member_trainer(i) for i in range(2)]
            self.ensemble = None
        return self.trainers[k].apply(**changes)

    def check(self, k: int, changes: dict) -> None:
        """ConfigError unless `changes` could be applied to side k now: live keys, valid values,
        and the memory budget a fresh run of the new config would have to meet."""
        if self.trainers is not None:
            self.trainers[k].check_live(changes)
            return
        check_live(changes)
        candidate = self.configs[k].replace(**changes)
        if candidate != self.configs[k]:
            check_budget(candidate, self.datasets[k].shape)   # meta tensors: milliseconds

    def sample(self, k: int, count: int) -> np.ndarray:
        """Side k's G on its fixed latent batch, as numpy (count, *data shape)."""
        tensor = self.ensemble.sample(k, count) if self.ensemble else self.trainers[k].sample(count)
        return tensor.numpy()

    def weights(self, k: int) -> tuple[dict, dict]:
        """(G's, D's) state_dict of side k: for checking that A and B start alike."""
        if self.ensemble is not None:
            return self.ensemble.generator_state(k), self.ensemble.discriminator_state(k)
        trainer = self.trainers[k]
        return trainer.generator.state_dict(), trainer.discriminator.state_dict()


# --- what the page reads ---------------------------------------------------------------------
@dataclass(frozen=True)
class CompareSnapshot:
    """Everything the Compare tab shows at one moment; per-side tuples are (A, B)."""

    state: str = "idle"                 # idle | running | paused | diverged | stopped
    step: int = 0
    steps_per_s: float = 0.0
    version: int = 0                    # bumps at every render
    configs: tuple = ()                 # (A, B) TrainConfigs
    together: bool = False              # one vectorised Ensemble (else two Trainers)
    kind: str = "points"
    curves: tuple = ()                  # History.columns() of A, of B
    samples: tuple = ()                 # (N, 2) points or (N, C, H, W) images, per side
    real: tuple = ()                    # points: the real data behind each side's fakes
    findings: tuple = ()                # diagnose.Finding tuples, per side
    evals: tuple = ()                   # the evaluations of each side (History.evals)
    diverged: tuple = (False, False)
    notice: Notice = Notice("ready")


class Comparison(Worker):
    """One visitor's comparison. Every public method is safe from any thread, in any order."""

    def __init__(self):
        super().__init__()
        self._step_lock = threading.Lock()           # guards the pair for a whole step
        self._pending: list[dict] = [{}, {}]
        self.pair: Pair | None = None
        self.histories = [History(), History()]
        self._real = None
        self._snapshot = CompareSnapshot()
        self._rate = (time.monotonic(), 0)
        self.last_seen = time.monotonic()

    # --- commands --------------------------------------------------------------------------
    @command
    def start(self, a: TrainConfig | None = None, b: TrainConfig | None = None) -> Notice:
        """Train A and B; configs whose non-live keys differ from the pair's start afresh."""
        if self._closed:
            return self.notify(Notice("closed"))
        notice = Notice("started")
        if a is None or b is None:
            known = self.pair.configs if self.pair is not None else self._snapshot.configs
            a, b = known or (TrainConfig(), TrainConfig())
        if self.pair is None or all(self.pair.diverged) or self._rebuild(a, b):
            self._build(a, b)
            notice = Notice("fresh")
        else:
            for side, config in zip(SIDES, (a, b)):
                self.update(side, **{k: getattr(config, k) for k in LIVE_KEYS})
        with self._lock:
            self._launch("gan-compare")
        return self.notify(notice, state="running")

    @command
    def pause(self) -> Notice:
        """Stop after the current step; the thread exits, A and B are kept."""
        if not self._halt_was_running():
            return self._snapshot.notice
        return self.notify(Notice("paused"), state="paused")

    @command
    def update(self, side: str, **changes) -> Notice:
        """Change live keys of one side (between steps); other keys wait for the next Start."""
        k = SIDES.index(side)
        current = self.pair.configs[k] if self.pair is not None else None
        if current is None:
            return self.notify(Notice("applied", (("side", side), ("live", ()), ("later", tuple(changes)))))
        candidate = current.replace(**changes)                 # validates every value first
        changed = [key for key in changes if getattr(candidate, key) != getattr(current, key)]
        live = {key: getattr(candidate, key) for key in changed if key in LIVE_KEYS}
        later = tuple(key for key in changed if key not in LIVE_KEYS)
        if live:
            self.pair.check(k, live)
            with self._lock:
                self._pending[k].update(live)
            if self._thread is None:
                with self._step_lock:
                    self._apply_pending()
        return self.notify(Notice("applied", (("side", side), ("live", tuple(live.items())),
                                              ("later", later))))

    @command
    def stop(self) -> None:
        """End the comparison for good (the tab closed): the worker exits, A and B are dropped."""
        with self._lock:
            self._closed = True
        self._halt()
        with self._step_lock:
            self.pair = None
        self.notify(Notice("stopped"), state="stopped")

    # --- reading ------------------------------------------------------------------------------
    def snapshot(self) -> CompareSnapshot:
        """The latest snapshot with the current step (cheap: no tensor work)."""
        self.last_seen = time.monotonic()
        pair = self.pair
        return dataclasses.replace(self._snapshot, step=pair.step_count if pair else 0)

    def with_pair(self, fn):
        """fn(pair) between two steps; None before a pair exists."""
        with self._step_lock:
            return None if self.pair is None else fn(self.pair)

    def notify(self, notice: Notice, state: str | None = None) -> Notice:
        """Record the outcome of a command (or of the registry's cap check, the sweeper)."""
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, notice=notice,
                                                 state=state or self._snapshot.state)
        return notice

    # --- the worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        last_render = 0.0
        try:
            while True:
                with self._lock:
                    pair = self.pair
                    if not self._want_running or self._closed or pair is None or all(pair.diverged):
                        self._thread = None          # decided and cleared in one step: a Start
                        return                       # arriving now starts a new worker
                last_render = self._step(pair, last_render)
                if all(pair.diverged):
                    with self._lock:
                        self._want_running = False
                    self.notify(Notice("diverged"), state="diverged")
        except Exception:
            with self._lock:                         # never leave a dead worker holding a slot
                self._thread, self._want_running = None, False
            self.notify(Notice("failed"), state="paused")
            raise

    def _step(self, pair: Pair, last_render: float) -> float:
        """One step of both sides, their History rows, evaluations and renders when due."""
        with self._step_lock:
            self._apply_pending()
            active = [not d for d in pair.diverged]
            stats = pair.step()
            for k, history in enumerate(self.histories):
                if active[k]:
                    history.add(stats[k].to_dict())
            if pair.step_count % eval_every(pair.configs[0]) == 0:
                self._evaluate()
            now = time.monotonic()
            if now - last_render >= RENDER_EVERY_S or all(pair.diverged):
                self._render()
                return now
        return last_render

    def _apply_pending(self) -> None:
        """Live edits queued by update(), each to its own side (caller holds _step_lock)."""
        with self._lock:
            pending, self._pending = self._pending, [{}, {}]
        for k, changes in enumerate(pending):
            if changes and self.pair is not None:
                self.pair.apply(k, **changes)

    def _evaluate(self) -> None:
        """metrics.evaluate of both sides on their fixed latents (caller holds _step_lock)."""
        for k, history in enumerate(self.histories):
            samples = self.pair.sample(k, EVAL_SAMPLES)
            if np.isfinite(samples).all():
                quality = evaluate(self.pair.datasets[k], samples, self._real[k])
                history.add_eval({"step": self.pair.step_count, **quality})

    def _render(self) -> None:
        """The next snapshot from the pair (caller holds _step_lock)."""
        pair = self.pair
        points = pair.datasets[0].kind == "points"
        samples = tuple(pair.sample(k, POINT_SAMPLES if points else IMAGE_SAMPLES) for k in range(2))
        now, (then, before) = time.monotonic(), self._rate
        self._rate = (now, pair.step_count)
        rate = (pair.step_count - before) / (now - then) if now > then else 0.0
        configs = tuple(pair.configs)
        findings = tuple(tuple(diagnose(h.recent_columns(), c.loss, h.evals))
                         for h, c in zip(self.histories, configs))
        with self._lock:
            self._snapshot = dataclasses.replace(
                self._snapshot, version=self._snapshot.version + 1, configs=configs,
                together=pair.together, kind=pair.datasets[0].kind, steps_per_s=rate,
                curves=tuple(h.columns() for h in self.histories), samples=samples,
                real=tuple(r[:POINT_SAMPLES] for r in self._real) if points else (), findings=findings,
                evals=tuple(tuple(h.evals) for h in self.histories),
                diverged=tuple(pair.diverged))

    # --- building -------------------------------------------------------------------------------
    def _rebuild(self, a: TrainConfig, b: TrainConfig) -> bool:
        """Whether the new configs differ from the pair's in a key that cannot change live."""
        return any(key not in LIVE_KEYS and getattr(new, key) != getattr(old, key)
                   for new, old in zip((a, b), self.pair.configs) for key in new.to_dict())

    def _build(self, a: TrainConfig, b: TrainConfig) -> None:
        """A fresh pair from step 0 (built before the old one is dropped: a refusal keeps it)."""
        pair = Pair(a, b)
        self.pause()
        with self._step_lock:
            self.pair = pair
            self.histories = [History(), History()]
            real = pair.datasets[0].real_samples(EVAL_SAMPLES)
            shared = pair.datasets[1] is pair.datasets[0]
            self._real = (real, real if shared else pair.datasets[1].real_samples(EVAL_SAMPLES))
            with self._lock:
                self._pending = [{}, {}]
            self._rate = (time.monotonic(), 0)
            self._render()


__all__ = ["Comparison", "CompareSnapshot", "Pair", "SIDES", "comparison_names", "differences",
           "read_comparison"]
