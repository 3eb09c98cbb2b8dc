"""Session: one visitor's run in a background thread; commands in, immutable snapshots out.

    session = Session(config)
    session.start()                # a worker thread drives the Run until pause()/stop()
    session.update(lr_d=1e-3)      # applied between two steps
    snap = session.snapshot()      # cheap, immutable; what the UI renders at 1 Hz

The training itself is the core's one loop (run.Run): the worker only calls `run.step()` and,
about once a second, `snapshot.render(run)`. Commands answer with a snapshot.Notice (a code and
its details); the UI turns it into words.

Threads: the worker thread, its start and stop, and the lock order are worker.Worker's. The
session's own lock is `_step_lock`, which guards the Run for a whole step (the worker's, or a
single-step command's). A UI tick takes no lock but `_lock`, briefly, so it never waits for a
step or a command.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from .config import LIVE_KEYS, TrainConfig
from .data import make_dataset
from .explain import explain_step
from .film import Film
from .run import Run
from .run_log import RunLog
from .run_state import load_run
from .run_state import read_config as read_run_config
from .snapshot import Notice, Snapshot, render
from .trainer import Trainer
from .worker import BUILD_LOCK, Worker, command

RENDER_EVERY_S = 1.0          # samples / field refresh for the page (= its 1 Hz tick)
EVAL_MAX_S = 3.0              # an evaluation at least this often while the page watches
RATE_WINDOW_S = 3.0           # the shown steps/s: counted steps over the last few seconds
LOG_ROOT = Path(tempfile.gettempdir()) / "gan-playground-runs"   # server-private, never served


def build_run(config: TrainConfig) -> Run:
    """A fresh Run of `config`: the data loaded first, the seeded networks under BUILD_LOCK,
    and a RunLog writing its metrics.csv / events.csv into a private folder as it trains."""
    dataset = make_dataset(config)
    with BUILD_LOCK:
        trainer = Trainer(config, dataset=dataset)
    run = Run(config, trainer=trainer, eval_max_s=EVAL_MAX_S)
    run.film = Film()               # every render adds a frame (bounded: film.FRAME_CAP)
    LOG_ROOT.mkdir(parents=True, exist_ok=True)
    run.log = RunLog(run, Path(tempfile.mkdtemp(prefix="run-", dir=LOG_ROOT)))
    return run


def resume_run(path) -> Run:
    """A Run that carries on from a whole-run checkpoint (run_state.py): its config's data
    loaded first, its networks built under BUILD_LOCK, then filled from the file."""
    config = read_run_config(path)
    dataset = make_dataset(config)
    with BUILD_LOCK:
        trainer = Trainer(config, dataset=dataset)
    run = Run(config, trainer=load_run(path, trainer), eval_max_s=EVAL_MAX_S)
    run.film = Film()
    LOG_ROOT.mkdir(parents=True, exist_ok=True)
    run.log = RunLog(run, Path(tempfile.mkdtemp(prefix="run-", dir=LOG_ROOT)))
    return run


def drop_run(run: Run | None) -> None:
    """Close a run's log and delete its folder (the run is being replaced or the session ends)."""
    if run is not None and run.log is not None:
        run.log.close()
        shutil.rmtree(run.log.folder, ignore_errors=True)


class Session(Worker):
    """One user's run. Every public method is safe to call from any thread, in any order."""

    def __init__(self, config: TrainConfig | None = None):
        super().__init__()
        self._step_lock = threading.Lock()
        self._pending: dict = {}
        self.config = config or TrainConfig()
        self.run: Run | None = None
        self._elapsed = 0.0
        self._ticks: deque[tuple[float, int]] = deque()   # (time, step) samples for the rate
        self._snapshot = Snapshot(state="idle", config=self.config)

    @property
    def trainer(self) -> Trainer | None:
        run = self.run
        return None if run is None else run.trainer

    # --- commands ------------------------------------------------------------------------
    @command
    def start(self, config: TrainConfig | None = None) -> Notice:
        """Train in the background; a `config` whose non-live keys differ starts a fresh run."""
        if self._closed:
            return self._notify(Notice("closed"))
        notice = self._adopt(config) if config is not None else None
        if self.run is None:
            self._replace_run(build_run(self.config))
        if self.run.diverged:
            return self._notify(Notice("diverged"))
        with self._lock:
            self._launch("gan-trainer")
        return self._notify(notice or Notice("started"), state="running")

    @command
    def pause(self) -> Notice:
        """Stop after the current step; the thread exits, the run is kept."""
        if not self._halt_was_running():
            return self._snapshot.notice
        return self._notify(Notice("paused"), state="paused")

    @command
    def step(self, d_steps: int | None = None, g_steps: int | None = None) -> Notice:
        """One training step while paused (D-only is (1, 0), G-only (0, 1))."""
        if self._thread is not None:
            return self._notify(Notice("pause_first"))
        if self.run is None:
            self._replace_run(build_run(self.config))
        with self._step_lock:
            self._apply_pending()
            self.run.step(d_steps, g_steps)
            self._render()
        which = {(1, 0): "d", (0, 1): "g"}.get((d_steps, g_steps), "both")
        return self._notify(Notice("stepped", (("which", which),)), state="paused")

    @command
    def explain(self) -> tuple[Notice, list]:
        """One real step in slow motion (explain.explain_step): its phases, for the page to
        show one by one. Recorded like any step (History, metrics.csv, the film)."""
        if self._thread is not None:
            return self._notify(Notice("pause_first")), []
        if self.run is None:
            self._replace_run(build_run(self.config))
        with self._step_lock:
            self._apply_pending()
            phases = explain_step(self.run.trainer)
            if phases:
                self.run.record(self.run.trainer.last_stats)
            self._render()
        return self._notify(Notice("explained" if phases else "diverged"), state="paused"), phases

    @command
    def reset(self, config: TrainConfig | None = None) -> Notice:
        """Fresh weights (with `config` if given). The new run is built before the old one is
        dropped, so a refused config (ConfigError, DataError) leaves the current run as it was."""
        run = build_run(config or self.config)
        self.pause()
        self.config = run.config
        self._replace_run(run)
        return self._notify(Notice("reset"), state="idle")

    @command
    def resume(self, path) -> Notice:
        """Carry on a saved run (a whole-run checkpoint); built before the current run is
        dropped, so a refused file (CheckpointError, ConfigError) changes nothing."""
        run = resume_run(path)
        self.pause()
        self.config = run.config
        self._replace_run(run)
        return self._notify(Notice("resumed", (("step", run.step_count),)), state="paused")

    @command
    def stop(self) -> None:
        """End the session for good: the worker exits and nothing restarts it."""
        with self._lock:
            self._closed = True
        self._halt()
        with self._step_lock:
            drop_run(self.run)
            self.run = None
        self._notify(Notice("stopped"), state="stopped")

    @command
    def update(self, **changes) -> Notice:
        """Change live keys now (between steps); other keys are stored and need a reset."""
        candidate = self.config.replace(**changes)          # validates everything first
        changed = [k for k in changes if getattr(self.config, k) != getattr(candidate, k)]
        live = {k: getattr(candidate, k) for k in changed if k in LIVE_KEYS}
        later = tuple(k for k in changed if k not in LIVE_KEYS)
        if live and self.run is not None:
            # With the edits still queued: two edits fine alone may be over the budget together.
            with self._lock:
                queued = {**self._pending, **live}
            self.run.trainer.check_live(queued)             # e.g. a batch size over the budget
        self.config = candidate
        if live:
            with self._lock:
                self._pending.update(live)
            if self._thread is None:
                with self._step_lock:
                    self._apply_pending()
        if not changed:
            return Notice("unchanged")
        return self._notify(Notice("applied", (("live", tuple(live.items())),
                                               ("later", later if self.run is not None else ()))))

    @command
    def restore(self) -> Notice:
        """Back to the last finite weights after a divergence."""
        self.pause()
        if self.run is None or not self.run.diverged:
            return self._notify(Notice("nothing_to_restore"))
        with self._step_lock:
            self.run.restore_last_good()
            self._render()
        return self._notify(Notice("restored"), state="paused")

    # --- reading ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest immutable snapshot with fresh counters (cheap: no tensor work)."""
        self.last_seen = time.monotonic()
        run = self.run
        step = run.step_count if run is not None else 0
        return dataclasses.replace(self._snapshot, step=step, steps_per_s=self._measured_rate(step),
                                   elapsed_s=self._elapsed)

    def with_run(self, fn):
        """Run fn(run) between steps (exports, latent walks); None before any run exists."""
        with self._step_lock:
            return None if self.run is None else fn(self.run)

    def with_trainer(self, fn):
        """fn(trainer) between steps; None before any run exists."""
        return self.with_run(lambda run: fn(run.trainer))

    def has_run(self) -> bool:
        """Whether a run exists (built by Start, Step, Reset or a resume)."""
        return self.run is not None

    run_pid = None                # the run trains in this process (process_session: its own)

    @property
    def step_count(self) -> int:
        """The run's step, without counting as watching (snapshot() does: the idle sweep)."""
        run = self.run
        return run.step_count if run is not None else 0

    # --- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        last_render = began = time.monotonic()
        while True:
            with self._lock:
                run = self.run
                if not self._want_running or self._closed or run is None or run.diverged:
                    self._thread = None
                    self._ticks.clear()
                    return
            with self._step_lock:
                self._apply_pending()
                stats = run.step()
                now = time.monotonic()
                self._elapsed += now - began
                began = now
                self._count_step(now, run.step_count)
                if now - last_render >= RENDER_EVERY_S or not stats.finite:
                    last_render = now
                    self._render()
            if not stats.finite:
                with self._lock:
                    self._want_running = False
                self._notify(Notice("diverged"), state="diverged")

    def _count_step(self, now: float, step: int) -> None:
        """Keep (time, step) samples of the last RATE_WINDOW_S (bounded: old ones dropped)."""
        with self._lock:
            self._ticks.append((now, step))
            while len(self._ticks) > 2 and now - self._ticks[0][0] > RATE_WINDOW_S:
                self._ticks.popleft()

    def _measured_rate(self, step: int) -> float:
        """Steps per second counted over the last seconds of running; 0 when not running."""
        with self._lock:
            if self._thread is None or len(self._ticks) < 2:
                return 0.0
            (t0, s0), (t1, s1) = self._ticks[0], self._ticks[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def _apply_pending(self) -> None:
        """Live edits queued by update(); caller holds _step_lock."""
        with self._lock:
            changes, self._pending = self._pending, {}
        if changes and self.run is not None:
            self.run.apply(**changes)

    def _render(self) -> None:
        """The next snapshot from the run (caller holds _step_lock)."""
        state = "running" if self._thread is not None else None
        snap = render(self.run, self._snapshot, state)
        with self._lock:
            self._snapshot = dataclasses.replace(snap, state=state or self._snapshot.state,
                                                 notice=self._snapshot.notice)

    # --- building ---------------------------------------------------------------------------
    def _replace_run(self, run: Run) -> None:
        """Swap in a new run (the worker is not running) and show its first frame."""
        with self._step_lock:
            drop_run(self.run)
            self.run = run
            self._elapsed = 0.0
            with self._lock:
                self._pending = {}
                # Versions keep counting across runs, so a page never mistakes the new run's
                # first frame for a frame it has already drawn.
                self._snapshot = Snapshot(state=self._snapshot.state, notice=self._snapshot.notice,
                                          config=run.config, version=self._snapshot.version)
            self._render()

    def _adopt(self, config: TrainConfig) -> Notice | None:
        """Take the UI's config: live keys are queued, other changed keys mean a fresh run."""
        run = self.run
        if run is None:
            self.config = config
            return None
        rebuild = tuple(k for k in config.to_dict() if k not in LIVE_KEYS
                        and getattr(config, k) != getattr(run.config, k))
        if rebuild:
            self.reset(config)
            return Notice("rebuilt", (("keys", rebuild),))
        self.update(**{k: getattr(config, k) for k in LIVE_KEYS})
        return None

    def _notify(self, notice: Notice, state: str | None = None) -> Notice:
        """Record the outcome of a command (and the new state, when it changes)."""
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, notice=notice,
                                                 state=state or self._snapshot.state)
        return notice

    def notify(self, notice: Notice) -> Notice:
        """Record an outcome decided outside the session (e.g. the registry's run cap)."""
        return self._notify(notice)


__all__ = ["Session", "Snapshot", "Notice", "build_run"]
