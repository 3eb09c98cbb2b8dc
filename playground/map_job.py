"""MapJob: a stability map (sweep.py) trained in a background thread, one chunk after another.

The Stability map tab asks for a map of two knobs over a preset; the job plans its runs
(sweep.plan_runs), cuts them into chunks of about one row of the map, and trains the chunks one
by one as ensembles in a single thread, so the map fills in row by row while the page watches
(`snapshot()`: the rows so far, cells done, member-steps done). As a run against the server's
cap a map counts as ONE (SessionRegistry.start_job), and the server bounds each map: at most
GAN_PLAYGROUND_MAP_MAX_CELLS runs (default 64) and GAN_PLAYGROUND_MAP_MAX_STEPS steps per run
(default 3000), so one visitor cannot hold a shared Space for long.

    plan = plan_map("ring_map", make_axis("lr_d", [...]), make_axis("lr_g", [...]), seeds=1, steps=600)
    job = MapJob()
    job.start(plan)                       # MapLimitError before anything trains if over a cap
    snap = job.snapshot()                 # rows (outcome "pending" until trained), progress
    config = plan.config_at(row, col)     # the exact config (seed included) of one cell

Pausing a map ends it (the sweeper pauses maps nobody watches): the cells done stay on it and
Start plans a new one. Threads and locks as in session.py; the ensembles are built under
session.BUILD_LOCK (a build seeds torch's global RNG), the data loaded before it.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from .config import TrainConfig, get_preset
from .data import DataError, make_dataset
from .ensemble import Ensemble
from .map_picture import PENDING
from .snapshot import Notice
from .sweep import DEFAULT_CHUNK, Axis, Run, chunk_runs, plan_runs, sweep_row, train_ensemble
from .worker import BUILD_LOCK, Worker, command

DEFAULT_MAX_CELLS = 64
DEFAULT_MAX_STEPS = 3000


class MapLimitError(ValueError):
    """A map outside the server's bounds: `field` ("cells": runs per map, or "steps": steps per
    run) is `value`, and this server allows 1 to `limit`."""

    def __init__(self, field: str, value: int, limit: int):
        self.field, self.value, self.limit = field, value, limit
        super().__init__(f"{field}={value} is not allowed: 1 to {limit} on this server")


def _limit_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"{name}={raw!r} is not allowed: an integer >= 1")
    return value


def map_limits() -> tuple[int, int]:
    """(runs per map, steps per run) this server allows (GAN_PLAYGROUND_MAP_MAX_CELLS / _STEPS)."""
    return (_limit_from_env("GAN_PLAYGROUND_MAP_MAX_CELLS", DEFAULT_MAX_CELLS),
            _limit_from_env("GAN_PLAYGROUND_MAP_MAX_STEPS", DEFAULT_MAX_STEPS))


@dataclass(frozen=True)
class MapPlan:
    """What one map trains: the preset, the two axes, the runs and their chunks."""

    preset: str
    base: TrainConfig
    x: Axis
    y: Axis
    seeds: int
    steps: int
    runs: tuple[Run, ...]
    chunks: tuple[tuple[int, ...], ...]

    def config_at(self, row: int, col: int, replicate: int = 0) -> TrainConfig:
        """The exact config (seed included) of cell (row, col), replicate `replicate`."""
        return next(r.config for r in self.runs if (r.row, r.col, r.replicate) == (row, col, replicate))

    def pending_rows(self) -> list[dict]:
        """One row per run, as sweep_row makes them, with outcome PENDING and no figures yet."""
        return [{"row": r.row, "col": r.col, "x_key": self.x.key, "x": self.x.values[r.col],
                 "y_key": self.y.key, "y": self.y.values[r.row], "seed": r.config.seed,
                 "replicate": r.replicate, "outcome": PENDING} for r in self.runs]


def plan_map(preset: str, x: Axis, y: Axis, seeds: int = 1, steps: int | None = None,
             limits: tuple[int, int] | None = None) -> MapPlan:
    """The plan of a map, or MapLimitError (cells, steps) / sweep.SweepError / ConfigError."""
    max_cells, max_steps = limits or map_limits()
    chosen = get_preset(preset)
    steps = chosen.steps if steps is None else int(steps)
    if not 1 <= steps <= max_steps:
        raise MapLimitError("steps", steps, max_steps)
    cells = len(x.values) * len(y.values) * seeds
    if cells > max_cells:
        raise MapLimitError("cells", cells, max_cells)
    runs = plan_runs(chosen.config, x, y, seeds)
    row_size = min(DEFAULT_CHUNK, len(x.values) * seeds)     # about one row of the map per chunk
    chunks = tuple(tuple(c) for c in chunk_runs(runs, row_size))
    return MapPlan(chosen.name, chosen.config, x, y, seeds, steps, tuple(runs), chunks)


@dataclass(frozen=True)
class MapSnapshot:
    """What the Stability map tab shows at one moment."""

    state: str = "idle"                 # idle | running | done | stopped | failed
    plan: MapPlan | None = None
    rows: tuple = ()                    # one dict per run (sweep_row, or outcome PENDING)
    cells_done: int = 0
    cells_total: int = 0
    steps_done: int = 0                 # member-steps trained so far
    steps_total: int = 0
    elapsed_s: float = 0.0
    version: int = 0                    # bumps when rows change (a chunk finished)
    notice: Notice = Notice("ready")


class MapJob(Worker):
    """One visitor's map. Every public method is safe from any thread, in any order."""

    def __init__(self):
        super().__init__()
        self._snapshot = MapSnapshot()
        self._began = time.monotonic()

    @command
    def start(self, plan: MapPlan) -> Notice:
        """Train `plan` in the background (a map already running is ended first)."""
        if self._closed:
            return self.notify(Notice("closed"))
        self.pause()
        cells = len({(r.row, r.col) for r in plan.runs})
        with self._lock:
            self._snapshot = MapSnapshot(
                state="running", plan=plan, rows=tuple(plan.pending_rows()), cells_total=cells,
                steps_total=len(plan.runs) * plan.steps, version=self._snapshot.version + 1,
                notice=Notice("map_started"))
            self._began = time.monotonic()
            self._launch("gan-map", plan)             # no thread is alive: pause() joined it
        return self._snapshot.notice

    @command
    def pause(self) -> Notice:
        """End the map after the current step; the cells done stay on it."""
        if not self._halt_was_running():
            return self._snapshot.notice
        return self._finish("stopped", Notice("map_stopped"))

    @command
    def stop(self) -> None:
        """The tab closed: end the map for good."""
        with self._lock:
            self._closed = True
        self.pause()

    def snapshot(self) -> MapSnapshot:
        self.last_seen = time.monotonic()
        snap = self._snapshot
        if snap.state == "running":
            snap = dataclasses.replace(snap, elapsed_s=time.monotonic() - self._began)
        return snap

    def notify(self, notice: Notice) -> Notice:
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, notice=notice)
        return notice

    # --- the worker ---------------------------------------------------------------------------
    def _work(self, plan: MapPlan) -> None:
        try:
            for indices in plan.chunks:
                results = self._train(plan, indices)
                if results is None:
                    break
                self._record(plan, indices, results)
            else:
                self._finish("done", Notice("map_done"))
        except (DataError, RuntimeError, ValueError) as err:   # data gone, a budget refusal
            self._finish("failed", Notice("map_failed", (("why", str(err)),)))
        finally:
            with self._lock:
                self._thread = None

    def _train(self, plan: MapPlan, indices) -> list[dict] | None:
        configs = [plan.runs[i].config for i in indices]
        dataset = make_dataset(configs[0])                 # loaded before the build lock
        with BUILD_LOCK:
            ensemble = Ensemble(configs, dataset=dataset)
        return train_ensemble(ensemble, plan.steps, self._advance, lambda: not self._want_running)

    def _advance(self, member_steps: int) -> None:
        with self._lock:
            snap = self._snapshot
            self._snapshot = dataclasses.replace(snap, steps_done=snap.steps_done + member_steps)

    def _record(self, plan: MapPlan, indices, results: list[dict]) -> None:
        """A finished chunk: its rows on the map, and the cells whose every seed is done."""
        with self._lock:
            rows = list(self._snapshot.rows)
            for i, result in zip(indices, results):
                rows[i] = sweep_row(plan.runs[i], plan.x, plan.y, result)
            done = {(r["row"], r["col"]) for r in rows if r["outcome"] != PENDING}
            waiting = {(r["row"], r["col"]) for r in rows if r["outcome"] == PENDING}
            self._snapshot = dataclasses.replace(self._snapshot, rows=tuple(rows),
                                                 cells_done=len(done - waiting),
                                                 version=self._snapshot.version + 1)

    def _finish(self, state: str, notice: Notice) -> Notice:
        with self._lock:
            if self._snapshot.state == "running":
                self._snapshot = dataclasses.replace(self._snapshot, state=state, notice=notice,
                                                     elapsed_s=time.monotonic() - self._began)
        return notice


__all__ = ["MapJob", "MapLimitError", "MapPlan", "MapSnapshot", "map_limits", "plan_map"]
