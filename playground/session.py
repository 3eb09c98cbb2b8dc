"""A training run in a background thread: commands in, immutable snapshots out.

    session = Session(config)
    session.start()                # a worker thread trains until pause()/stop()
    session.update(lr_d=1e-3)      # applied between two steps
    snap = session.snapshot()      # cheap, immutable; what the UI renders at 1 Hz

Threads: at most one worker per session. The worker exits whenever it is not asked to run
(paused, diverged, stopped), so an idle server has no trainer threads. Three locks, always
taken in this order:
- `_command_lock` (re-entrant) makes commands one at a time: without it a Start arriving while
  a Pause waits for the worker would re-arm the worker, and the Pause would wait forever.
  The worker never takes it, so a command may safely wait for the worker.
- `_step_lock` guards the Trainer for a whole step (the worker's, or a single-step command's).
- `_lock` guards the session's fields and is held only for moments.
The snapshot is built in the worker, so a UI tick (which takes no lock but `_lock`, briefly)
never waits for a step or a command.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .config import LIVE_KEYS, ConfigError, TrainConfig
from .diagnose import Finding, diagnose
from .field import extent_of, field_view, manifold
from .history import History
from .metrics import evaluate
from .trainer import Trainer

# Trainer construction seeds torch's global RNG; builds from several sessions' threads must not
# interleave, or a seed would no longer fix the initial weights.
BUILD_LOCK = threading.Lock()
RENDER_EVERY_S = 1.0          # samples / field refresh for the page (= its 1 Hz tick)
POINT_SAMPLES = 300           # fakes drawn in the field view (charts.FIELD_POINTS)
IMAGE_SAMPLES = 64            # an 8 x 8 grid
EVAL_SAMPLES = 2000           # the quality metrics need >= 2000 (DESIGN.md)
EVAL_EVERY_S = 3.0            # quality metrics: ~10-20 ms each, so well under 10 % of training


def _command(method):
    """Run a Session method under the session's command lock (one command at a time)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._command_lock:
            return method(self, *args, **kwargs)
    return locked


@dataclass(frozen=True)
class Snapshot:
    """Everything the page shows about a run at one moment. Never mutated after creation."""

    state: str                          # "idle" | "running" | "paused" | "diverged" | "stopped"
    step: int = 0
    steps_per_s: float = 0.0
    elapsed_s: float = 0.0
    kind: str = "points"                # "points" | "images"
    curves: dict = field(default_factory=dict)       # History.columns(), <= ~1000 points each
    evals: tuple = ()                   # quality rows over time
    samples: np.ndarray | None = None   # points (N, 2) or images (N, C, H, W) in [-1, 1]
    real: np.ndarray | None = None      # points: real data behind the fakes
    field: dict | None = None           # points: D heatmap + G arrows (field.field_view)
    manifold: np.ndarray | None = None  # points with z_dim == 2
    findings: tuple[Finding, ...] = ()
    message: str = ""                   # the last command's outcome, in words
    config: TrainConfig | None = None
    version: int = 0                    # bumps when samples / charts change

    def status_line(self) -> str:
        """'running · step N · X steps/s · elapsed' for the page's status box."""
        line = (f"{self.state} · step {self.step} · {self.steps_per_s:.1f} steps/s · "
                f"elapsed {self.elapsed_s:.0f} s")
        return f"{line} · {self.message}" if self.message and self.message != self.state else line


class Session:
    """One user's run. Every public method is safe to call from any thread, in any order."""

    def __init__(self, config: TrainConfig | None = None):
        self._command_lock = threading.RLock()
        self._lock = threading.Lock()
        self._step_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._want_running = False
        self._pending: dict = {}
        self._closed = False
        self.config = config or TrainConfig()
        self.trainer: Trainer | None = None
        self.uploaded_data = ""       # where this visitor's uploaded training images were staged
        self.uploaded_model = None    # (path, model): the Latent tab's uploaded checkpoint, loaded once
        self._reset_run_state()
        self._snapshot = Snapshot(state="idle", config=self.config,
                                  message="press Start to train")
        self.last_seen = time.monotonic()

    def _reset_run_state(self) -> None:
        self.history = History()
        self._elapsed = 0.0
        self._rate = 0.0
        self._last_eval = -math.inf
        self._real: np.ndarray | None = None
        self._extent = 1.0
        self._version = 0

    # --- commands ------------------------------------------------------------------------
    @_command
    def start(self, config: TrainConfig | None = None) -> str:
        """Train in the background; a `config` whose non-live keys differ starts a fresh run."""
        with self._lock:
            if self._closed:
                return "this session is closed"
        note = self._adopt(config) if config is not None else ""
        with self._step_lock:
            if self.trainer is None:
                self._build()
            if self.trainer.diverged:
                return self._set_message("the run diverged: restore the last good weights or reset")
        with self._lock:
            self._want_running = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gan-trainer", daemon=True)
                self._thread.start()
        # The status line says "running"; only a note (e.g. a live edit) is worth adding to it.
        self._set_message(note, state="running")
        return note or "training"

    @_command
    def pause(self) -> str:
        """Stop after the current step; the thread exits, the run is kept."""
        with self._lock:
            self._want_running = False
        self._join()
        state = "paused" if self._snapshot.state == "running" else None
        return self._set_message("paused" if state else self._snapshot.message, state=state)

    @_command
    def step(self, d_steps: int | None = None, g_steps: int | None = None) -> str:
        """One training step while paused (d_steps/g_steps override: D-only is (1, 0), G-only (0, 1))."""
        with self._lock:
            running = self._thread is not None
        if running:
            return self._set_message("pause first to step one at a time")
        with self._step_lock:
            if self.trainer is None:
                self._build()
            self._train_once(d_steps, g_steps)
            self._render(force_eval=False)
        what = {(1, 0): "one D update", (0, 1): "one G update"}.get((d_steps, g_steps), "one step")
        return self._set_message(f"{what} done", state="paused")

    @_command
    def reset(self, config: TrainConfig | None = None) -> str:
        """Stop, and start over from fresh weights (with `config` if given)."""
        self._rebuild(config or self.config)
        return self._set_message("reset: fresh weights, press Start", state="idle")

    @_command
    def stop(self) -> None:
        """End the session for good: the worker exits and nothing restarts it."""
        with self._lock:
            self._closed = True
            self._want_running = False
        self._join()
        with self._step_lock:
            self.trainer = None
        self._set_message("stopped", state="stopped")

    @_command
    def update(self, **changes) -> str:
        """Change live keys now (between steps); other keys are stored and need a reset."""
        live = {k: v for k, v in changes.items() if k in LIVE_KEYS}
        later = {k: v for k, v in changes.items() if k not in LIVE_KEYS}
        candidate = self.config.replace(**changes)          # validates everything first
        changed_live = {k: v for k, v in live.items() if getattr(self.config, k) != getattr(candidate, k)}
        changed_later = [k for k in later if getattr(self.config, k) != getattr(candidate, k)]
        self.config = candidate
        if changed_live:
            with self._lock:
                self._pending.update(changed_live)
            if self._thread is None:
                with self._step_lock:
                    self._apply_pending()
        parts = []
        if changed_live:
            parts.append("applied " + ", ".join(f"{k}={getattr(candidate, k):g}" for k in changed_live))
        if changed_later and self.trainer is not None:
            parts.append(f"{', '.join(changed_later)} changed: takes effect after Reset")
        return self._set_message("; ".join(parts)) if parts else self._snapshot.message

    @_command
    def restore(self) -> str:
        """Back to the last finite weights after a divergence."""
        self.pause()
        with self._step_lock:
            if self.trainer is None:
                return self._set_message("nothing to restore yet")
            self.trainer.restore_last_good()
            self._render(force_eval=False)
        return self._set_message("restored the last good weights", state="paused")

    # --- reading ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest immutable snapshot with fresh step counters (cheap: no tensor work)."""
        self.last_seen = time.monotonic()
        snap = self._snapshot
        trainer = self.trainer
        step = trainer.step_count if trainer is not None else 0
        return dataclasses.replace(snap, step=step, steps_per_s=self._rate, elapsed_s=self._elapsed)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def with_trainer(self, fn):
        """Run fn(trainer) between steps (exports, latent walks); None before any trainer exists."""
        with self._step_lock:
            return None if self.trainer is None else fn(self.trainer)

    # --- the worker -------------------------------------------------------------------------
    def _run(self) -> None:
        last_render = 0.0
        while True:
            with self._lock:
                trainer = self.trainer
                if not self._want_running or self._closed or trainer is None or trainer.diverged:
                    self._thread = None
                    return
            with self._step_lock:
                began = time.perf_counter()
                stats = self._train_once()
                now = time.monotonic()
                if now - last_render >= RENDER_EVERY_S or not stats.finite:
                    last_render = now
                    self._render(force_eval=False)
                self._elapsed += time.perf_counter() - began
            if not stats.finite:
                with self._lock:
                    self._want_running = False
                self._set_message("diverged: a loss became infinite or NaN; training paused itself "
                                  "(see findings). Restore the last good weights, or lower the "
                                  "learning rates and reset", state="diverged")

    def _train_once(self, d_steps=None, g_steps=None):
        """One step with pending live edits applied first; caller holds _step_lock."""
        self._apply_pending()
        began = time.perf_counter()
        stats = self.trainer.step(d_steps, g_steps)
        spent = time.perf_counter() - began
        self._rate = 0.95 * self._rate + 0.05 / max(spent, 1e-6) if self._rate else 1 / max(spent, 1e-6)
        self.history.add(stats.to_dict())
        return stats

    def _apply_pending(self) -> None:
        with self._lock:
            changes, self._pending = self._pending, {}
        if changes and self.trainer is not None:
            self.trainer.apply(**changes)

    def _render(self, force_eval: bool) -> None:
        """Build the next snapshot from the trainer (caller holds _step_lock)."""
        trainer = self.trainer
        dataset = trainer.dataset
        points = dataset.kind == "points"
        if self._real is None:
            self._real = dataset.real_samples(EVAL_SAMPLES if points else 256)
            self._extent = extent_of(self._real) if points else 1.0
        samples = trainer.sample(POINT_SAMPLES if points else IMAGE_SAMPLES)
        field_data = curve_manifold = None
        if points and torch_finite(samples):
            field_data = field_view(trainer, samples, self._extent)
            curve_manifold = manifold(trainer)
        now = time.monotonic()
        if (force_eval or now - self._last_eval >= EVAL_EVERY_S) and torch_finite(samples):
            self._last_eval = now
            quality = evaluate(dataset, trainer.sample(EVAL_SAMPLES).numpy(), self._real)
            if quality:
                self.history.add_eval({"step": trainer.step_count, **quality})
        findings = tuple(diagnose(self.history.recent_columns(), trainer.config.loss, self.history.evals))
        self._version += 1
        with self._lock:
            self._snapshot = dataclasses.replace(
                self._snapshot, kind=dataset.kind, curves=self.history.columns(),
                evals=tuple(self.history.evals), samples=samples.numpy(),
                real=self._real if points else None, field=field_data, manifold=curve_manifold,
                findings=findings, config=trainer.config, version=self._version,
                state="running" if self._thread is not None else self._snapshot.state)

    # --- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        """A fresh trainer from self.config (caller holds _step_lock)."""
        with BUILD_LOCK:
            self.trainer = Trainer(self.config)
        self._reset_run_state()
        self._render(force_eval=False)

    def _adopt(self, config: TrainConfig) -> str:
        """Take the UI's config: live keys are queued, other changed keys mean a fresh trainer."""
        trainer = self.trainer
        rebuild = [k for k in config.to_dict() if k not in LIVE_KEYS
                   and (trainer is None or getattr(config, k) != getattr(trainer.config, k))]
        if trainer is None:
            self.config = config
            return ""
        if rebuild:
            self._rebuild(config)
            return f"{', '.join(rebuild)} changed: started a fresh run"
        self.update(**{k: getattr(config, k) for k in LIVE_KEYS})
        return ""

    def _rebuild(self, config: TrainConfig) -> None:
        self.pause()
        self.config = config
        with self._step_lock:
            self.trainer = None
            self._build()

    def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _set_message(self, message: str, state: str | None = None) -> str:
        """Record the outcome of a command (and the new state, when it changes)."""
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, message=message,
                                                 state=state or self._snapshot.state)
        return message


def torch_finite(tensor) -> bool:
    return bool(np.isfinite(tensor.numpy()).all())


class SessionRegistry:
    """Sessions keyed by the browser session, with a cap on runs training at the same time.

    The cap is what keeps a 2-vCPU Space usable: each run takes about one core.
    """

    def __init__(self, max_running: int = 2, idle_s: float = 600.0, config: TrainConfig | None = None):
        self.max_running = max_running
        self.config = config or TrainConfig()     # what a new session starts from (the page's default)
        self.idle_s = idle_s
        self._sessions: dict[str, Session] = {}
        self._starting: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str) -> Session:
        """The session for `key`, created on first use."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = Session(self.config)
            return session

    def start(self, key: str, config: TrainConfig | None = None) -> str:
        """Start `key`'s run unless the cap is reached; the check and the start are one step."""
        self.sweep()
        session = self.get(key)
        with self._lock:
            busy = {k for k, s in self._sessions.items() if s.running} | self._starting
            busy.discard(key)
            if not session.running and len(busy) >= self.max_running:
                return session._set_message(
                    f"{len(busy)} runs are active on this server, the most it allows; try again shortly")
            self._starting.add(key)     # holds the slot while the trainer is built, outside the lock
        try:
            return session.start(config)
        finally:
            with self._lock:
                self._starting.discard(key)

    def close(self, key: str) -> None:
        """Stop and forget `key`'s session (the browser tab closed)."""
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            session.stop()

    def sweep(self) -> None:
        """Close sessions nobody has looked at for idle_s (a tab that vanished without unload)."""
        now = time.monotonic()
        with self._lock:
            stale = [k for k, s in self._sessions.items() if now - s.last_seen > self.idle_s]
        for key in stale:
            self.close(key)

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.running)

    def __len__(self) -> int:
        return len(self._sessions)


__all__ = ["Session", "SessionRegistry", "Snapshot", "ConfigError"]
