"""Sweeps: a grid of cells over two knobs, each cell a GAN trained by an ensemble, one outcome each.

    python -m playground sweep --preset ring_map --x lr_d=2.5e-4:8e-3:6:log \\
        --y lr_g=2.5e-4:8e-3:6:log [--seeds 3] [--steps N] [--ray [ADDRESS]] --out DIR

An axis is `key=lo:hi:count[:log|:lin]` (count values, linear unless `log`; values are rounded
to 6 significant digits, so 2.5e-4:8e-3:6:log is exactly 2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3)
or a list `key=1,2,5`; key is any live key (config.LIVE_KEYS) or `seed`. Every cell x seed is
one config: the preset with the two knobs set and seed = the cell's seed + SEED_STRIDE * index.
Configs are grouped by shape (ensemble.group_by_shape: d_steps or batch_size on an axis makes
several ensembles) and cut into chunks of at most `chunk` members; each chunk is one Ensemble
run, in this process or as one Ray task (same chunks, so the same table).

The outcome of each run (converged, mode collapse, D overpowering, vanishing gradients,
oscillating, diverged, not converged) is decided by outcomes.py, and map_picture.py draws the
map; both are re-exported here. In the app, map_job.py runs the same chunks in a background
thread, one chunk after another, so the map fills in as they finish (`train_chunk`'s `stop`
ends a chunk early when the visitor leaves).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .config import FIELD_TYPES, LIVE_KEYS, ConfigError, Preset, TrainConfig, coerce, get_preset
from .data import DataError
from .diagnose import diagnose
from .ensemble import Ensemble, group_by_shape
from .history import History
from .map_picture import map_picture
from .metrics import evaluate
from .outcomes import (COLLAPSE_QUALITY, CONVERGED_CLASSES, CONVERGED_JS, CONVERGED_MODES,
                       CONVERGED_QUALITY, OUTCOMES, outcome)

AXIS_KEYS = tuple(sorted(LIVE_KEYS)) + ("seed",)
MAX_AXIS_VALUES = 24
MAX_SEEDS = 16
SEED_STRIDE = 1000           # seed of replicate j = the cell's seed + SEED_STRIDE * j
SIGNIFICANT = 6              # range values rounded to this many significant digits
DEFAULT_CHUNK = 18           # members per ensemble: a 6x6 map is 2 chunks (2 Ray tasks on 2 cores)
# The default map: 6 x 6 log-spaced rates, factor 2 apart, so ring_stable's lr_d 1e-3 and
# lr_g 2e-3 are exactly one cell (2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3 on both axes).
DEFAULT_X = "lr_d=2.5e-4:8e-3:6:log"
DEFAULT_Y = "lr_g=2.5e-4:8e-3:6:log"
EVAL_SAMPLES = 2000
EVAL_FRACTIONS = (0.5, 0.75, 1.0)   # mode_collapse needs the last two evaluations


class SweepError(ValueError):
    """A sweep that cannot run as asked; the message names the flag."""


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple


def parse_axis(flag: str, text: str) -> Axis:
    """`key=lo:hi:count[:log|:lin]` or `key=v1,v2,...` -> Axis, or SweepError naming `flag`."""
    key, sep, spec = (text or "").partition("=")
    key, spec = key.strip(), spec.strip()
    fail = lambda why: SweepError(f"{flag} {text!r}: {why}")   # noqa: E731
    if not sep or not key or not spec:
        raise fail("expected key=lo:hi:count[:log] or key=v1,v2,... (e.g. lr_d=1e-4:1e-2:6:log)")
    try:
        raw = _range_values(spec) if ":" in spec else [v.strip() for v in spec.split(",")]
        return make_axis(key, raw, ranged=":" in spec)
    except (ConfigError, SweepError) as err:
        raise fail(str(err)) from None


def make_axis(key: str, raw: Sequence, ranged: bool = False) -> Axis:
    """An Axis of `key` over the values `raw` (numbers or text), each checked by the config's
    rule for `key`: ConfigError for a value, SweepError for the key or the list as a whole.
    `ranged`: the values came from a range, so an integer key rounds them (d_steps 1:5:5)."""
    if key not in AXIS_KEYS:
        raise SweepError(f"{key!r} cannot be swept; use one of {', '.join(AXIS_KEYS)}")
    if ranged and FIELD_TYPES[key] == "int":
        raw = [round(v) for v in raw]          # d_steps=1:5:5 -> 1, 2, 3, 4, 5
    values = tuple(coerce(key, v) for v in raw)
    if len(set(values)) != len(values):
        raise SweepError(f"the values repeat ({', '.join(map(str, values))})")
    if not 1 <= len(values) <= MAX_AXIS_VALUES:
        raise SweepError(f"1 to {MAX_AXIS_VALUES} values are allowed, got {len(values)}")
    return Axis(key, values)


def _range_values(spec: str) -> list:
    parts = spec.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise SweepError("a range is lo:hi:count with an optional :log or :lin")
    try:
        lo, hi, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise SweepError("lo and hi must be numbers and count an integer") from None
    return spaced(lo, hi, count, log=len(parts) == 4 and parts[3] == "log")


def spaced(lo: float, hi: float, count: int, log: bool = False) -> list[float]:
    """`count` values from lo to hi, log-spaced or linear, rounded to SIGNIFICANT digits (so
    2.5e-4..8e-3 in 6 log steps is exactly 2.5e-4, 5e-4, ..., 8e-3); SweepError if impossible."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 1 <= count <= MAX_AXIS_VALUES:
        raise SweepError(f"lo and hi must be finite and count 1 to {MAX_AXIS_VALUES}")
    if log and (lo <= 0 or hi <= 0):
        raise SweepError("a log range needs lo > 0 and hi > 0")
    fractions = [i / (count - 1) if count > 1 else 0.0 for i in range(count)]
    if log:
        values = [math.exp(math.log(lo) + f * (math.log(hi) - math.log(lo))) for f in fractions]
    else:
        values = [lo + f * (hi - lo) for f in fractions]
    return [float(f"{v:.{SIGNIFICANT}g}") for v in values]


# --- the plan: cells x seeds -> configs -> chunks ----------------------------------------------
@dataclass(frozen=True)
class Run:
    """One training run of the sweep: cell (row, col) of the map, replicate `replicate`."""

    row: int
    col: int
    replicate: int
    config: TrainConfig


def plan_runs(base: TrainConfig, x: Axis, y: Axis, seeds: int) -> list[Run]:
    """Every cell x seed as a config, row-major (rows = y values, columns = x values)."""
    if x.key == y.key:
        raise SweepError(f"--x and --y both sweep {x.key!r}: choose two different knobs")
    if not 1 <= seeds <= MAX_SEEDS:
        raise SweepError(f"--seeds {seeds} is not allowed: an integer from 1 to {MAX_SEEDS}")
    runs = []
    for row, y_value in enumerate(y.values):
        for col, x_value in enumerate(x.values):
            for replicate in range(seeds):
                try:
                    config = base.replace(**{x.key: x_value, y.key: y_value})
                    config = config.replace(seed=config.seed + SEED_STRIDE * replicate)
                except ConfigError as err:      # a rule of two keys, or a seed out of range
                    raise SweepError(f"--x {x.key}={x_value} with --y {y.key}={y_value}: {err}") from None
                runs.append(Run(row, col, replicate, config))
    return runs


def chunk_runs(runs: Sequence[Run], chunk: int = DEFAULT_CHUNK) -> list[list[int]]:
    """Indices of `runs` per ensemble: grouped by shape, then cut into chunks of <= `chunk`."""
    chunks = []
    for group in group_by_shape([run.config for run in runs]):
        chunks += [group[i:i + chunk] for i in range(0, len(group), max(1, chunk))]
    return chunks


# --- one chunk: train an ensemble, evaluate, diagnose ------------------------------------------
def train_chunk(configs: Sequence[dict], steps: int, progress: Callable[[int], None] | None = None,
                stop: Callable[[], bool] | None = None) -> list[dict] | None:
    """Train the configs (dicts, so they travel to Ray workers) as one Ensemble for `steps`
    steps; per member: its final quality, findings codes, steps done and divergence.

    `progress(n)` is told every 25 steps how many member-steps were just done. `stop()` is asked
    before every step; when it says True the chunk ends at once and returns None (nothing of a
    half-trained chunk is reported)."""
    return train_ensemble(Ensemble([TrainConfig.from_dict(c) for c in configs]), steps, progress, stop)


def train_ensemble(ensemble: Ensemble, steps: int, progress: Callable[[int], None] | None = None,
                   stop: Callable[[], bool] | None = None) -> list[dict] | None:
    """train_chunk on an Ensemble built by the caller (the app builds it under its build lock)."""
    real = ensemble.dataset.real_samples(EVAL_SAMPLES)
    histories = [History() for _ in range(ensemble.size)]
    checkpoints = {max(1, round(steps * f)) for f in EVAL_FRACTIONS[:-1]}
    done = 0
    for step in range(1, steps + 1):
        if stop is not None and stop():
            return None
        if all(ensemble.diverged):
            break
        active = [not d for d in ensemble.diverged]
        stats = ensemble.step()
        for k, history in enumerate(histories):
            if active[k]:
                history.add(stats[k].to_dict())
        if step in checkpoints:
            _evaluate_all(ensemble, real, histories, step)
        if progress and (step % 25 == 0 or step == steps):
            progress(ensemble.size * (step - done))
            done = step
    if progress and done < steps:
        progress(ensemble.size * (steps - done))    # every member stopped early: the rest counts as done
    finals = _evaluate_all(ensemble, real, histories, ensemble.step_count)
    return [_member_result(ensemble, k, histories[k], finals[k]) for k in range(ensemble.size)]


def _member_result(ensemble: Ensemble, k: int, history: History, quality: dict) -> dict:
    last = ensemble.last_stats[k]
    findings = diagnose(history.recent_columns(), ensemble.configs[k].loss, history.evals)
    return {"steps": last.step if last else 0, "diverged": ensemble.diverged[k],
            "quality": quality, "findings": [f.code for f in findings],
            "d_real": last.d_real if last else math.nan,
            "d_fake": last.d_fake if last else math.nan}


def _evaluate_all(ensemble: Ensemble, real, histories: list[History], step: int) -> list[dict]:
    """metrics.evaluate of every member on its fixed latents; recorded for members still going."""
    samples = ensemble.samples(EVAL_SAMPLES).numpy()                      # (K, N, *shape)
    out = []
    for k in range(ensemble.size):
        quality = evaluate(ensemble.dataset, samples[k], real)
        if not ensemble.diverged[k]:
            histories[k].add_eval({"step": step, **quality})
        out.append(quality)
    return out


def _ray_chunk(configs: Sequence[dict], steps: int) -> list[dict]:
    import torch                  # a Ray worker is a fresh process: one thread, as in-process
    torch.set_num_threads(1)
    return train_chunk(configs, steps)


# --- running: in this process, or chunks as Ray tasks ------------------------------------------
def run_sweep(preset: str | Preset, x_spec: str = DEFAULT_X, y_spec: str = DEFAULT_Y, seeds: int = 1, steps: int | None = None,
              progress: Callable[[int, int], None] | None = None, ray: str | bool | None = None,
              chunk: int = DEFAULT_CHUNK) -> list[dict]:
    """Train every cell x seed and return one row per run (row-major, replicates together).

    `progress(done, total)` counts member-steps. `ray`: None/False runs in this process; True or
    "" starts a local Ray (2 CPUs) for the run; any other string is a Ray address to join.
    """
    preset = get_preset(preset) if isinstance(preset, str) else preset
    x, y = parse_axis("--x", x_spec), parse_axis("--y", y_spec)
    steps = preset.steps if steps is None else int(steps)
    if steps < 1:
        raise SweepError(f"--steps {steps} is not allowed: an integer >= 1")
    runs = plan_runs(preset.config, x, y, seeds)
    chunks = chunk_runs(runs, chunk)
    total, done = len(runs) * steps, 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    payloads = [[runs[i].config.to_dict() for i in indices] for indices in chunks]
    if ray is None or ray is False:
        outputs = [train_chunk(p, steps, advance) for p in payloads]
    else:
        outputs = _run_on_ray(payloads, steps, "" if ray is True else ray, lambda n: advance(n * steps))
    results: dict[int, dict] = {}
    for indices, output in zip(chunks, outputs):
        results.update(zip(indices, output))
    return [sweep_row(runs[i], x, y, results[i]) for i in range(len(runs))]


def _run_on_ray(payloads: list, steps: int, address: str, done_members: Callable[[int], None]) -> list:
    """Each chunk as one Ray task (1 CPU); a local Ray is started and stopped here when no address."""
    try:
        import ray
    except ImportError:
        raise SweepError("--ray needs Ray: pip install -r requirements.txt (it pins ray)") from None
    root = str(Path(__file__).resolve().parent.parent)
    env = {"env_vars": {"PYTHONPATH": root, "OMP_NUM_THREADS": "1"}}
    started = not ray.is_initialized()
    try:
        if started and address:     # a cluster elsewhere: ship the package with the tasks
            ray.init(address=address, log_to_driver=False, runtime_env={
                "py_modules": [str(Path(__file__).resolve().parent)], "env_vars": {"OMP_NUM_THREADS": "1"}})
        elif started:
            ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
    except Exception as err:        # ConnectionError, a bad address, no room for workers ...
        raise SweepError(f"--ray {address or '(local)'}: Ray could not start or connect ({err})") from None
    try:
        task = ray.remote(num_cpus=1)(_ray_chunk)
        refs = [task.remote(p, steps) for p in payloads]
        index = {ref: i for i, ref in enumerate(refs)}
        outputs, pending = [None] * len(refs), list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                outputs[index[ref]] = ray.get(ref)
                done_members(len(payloads[index[ref]]))
        return outputs
    finally:
        if started:
            ray.shutdown()


def sweep_row(run: Run, x: Axis, y: Axis, result: dict) -> dict:
    """One row of sweep.csv (and of the map): where the run sits, its seed, figures and outcome."""
    quality = result["quality"]
    return {"row": run.row, "col": run.col, "x_key": x.key, "x": x.values[run.col],
            "y_key": y.key, "y": y.values[run.row], "seed": run.config.seed, "replicate": run.replicate,
            "steps": result["steps"], "diverged": result["diverged"], **quality,
            "d_real": result["d_real"], "d_fake": result["d_fake"],
            "findings": ";".join(result["findings"]), "outcome": outcome(result)}


# --- files: sweep.csv, map.png, config.json ------------------------------------------------------
def write_sweep(rows: Sequence[dict], out: Path, config: dict) -> dict[str, Path]:
    """sweep.csv (one row per run), map.png (colour = outcome) and config.json into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    header = list(dict.fromkeys(key for row in rows for key in row))
    with open(out / "sweep.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    map_picture(rows, config.get("base", {})).save(out / "map.png")
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return {name: out / name for name in ("sweep.csv", "map.png", "config.json")}


# --- the CLI: `python -m playground sweep ...` -------------------------------------------------
def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `sweep` command on the CLI's subparsers (its handler is sweep_command)."""
    run = subparsers.add_parser("sweep", help="train a grid of GANs over two knobs and map the outcomes")
    run.add_argument("--preset", required=True, help="lesson preset name (see `presets`)")
    run.add_argument("--x", default=DEFAULT_X, metavar="KEY=SPEC",
                     help=f"x axis: key=lo:hi:count[:log] or key=v1,v2,... (default {DEFAULT_X})")
    run.add_argument("--y", default=DEFAULT_Y, metavar="KEY=SPEC", help=f"y axis, same forms (default {DEFAULT_Y})")
    run.add_argument("--seeds", type=int, default=1, help="runs per cell, each with its own seed (default 1)")
    run.add_argument("--steps", type=int, help="training steps per run (default: the preset's suggestion)")
    run.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help=f"runs per ensemble (default {DEFAULT_CHUNK})")
    run.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                     help="run the chunks as Ray tasks: on a local Ray started for the run, or at ADDRESS")
    run.add_argument("--out", required=True, help="output directory (sweep.csv, map.png, config.json)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=sweep_command)
    return run


def sweep_command(args: argparse.Namespace) -> int:
    """Run a sweep from parsed CLI arguments; 0 on success, 2 with one line on stderr otherwise."""
    import torch
    torch.set_num_threads(max(1, int(os.environ.get("GAN_PLAYGROUND_THREADS", "1"))))
    bar = None
    if not args.quiet:
        from tqdm import tqdm
        bar = tqdm(total=0, unit=" member-steps", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    started = time.perf_counter()
    try:
        preset = get_preset(args.preset)
        rows = run_sweep(preset, args.x, args.y, args.seeds, args.steps,
                         progress if bar is not None else None,
                         ray=args.ray, chunk=args.chunk)
    except (ConfigError, SweepError, DataError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - started
    config = {"preset": preset.name, "x": args.x, "y": args.y, "seeds": args.seeds,
              "steps": args.steps or preset.steps, "chunk": args.chunk, "base": preset.config.to_dict(),
              "runner": "in-process" if args.ray is None else f"ray {args.ray or 'local'}",
              "wall_s": round(wall, 2)}
    write_sweep(rows, Path(args.out), config)
    counts = {name: sum(r["outcome"] == name for r in rows) for name in OUTCOMES}
    print(json.dumps({"runs": len(rows), "wall_s": round(wall, 2),
                      "outcomes": {k: v for k, v in counts.items() if v}}))
    return 0


__all__ = ["AXIS_KEYS", "Axis", "COLLAPSE_QUALITY", "CONVERGED_CLASSES", "CONVERGED_JS", "CONVERGED_MODES",
           "CONVERGED_QUALITY", "DEFAULT_CHUNK", "DEFAULT_X", "DEFAULT_Y", "OUTCOMES", "Run", "SweepError",
           "add_sweep_parser", "chunk_runs", "make_axis", "map_picture", "outcome", "parse_axis",
           "plan_runs", "run_sweep", "spaced", "sweep_command", "sweep_row", "train_chunk",
           "train_ensemble", "write_sweep"]
