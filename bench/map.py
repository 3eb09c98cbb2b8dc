"""The default map end to end: a 6x6 lr_d x lr_g ring map (presets/ring_map.json, one seed), timed.

    .venv/bin/python -m bench map [--ray [ADDRESS]] [--steps N] [--out DIR]

Runs playground.sweep.run_sweep("ring_map") with the default axes (DEFAULT_X, DEFAULT_Y:
2.5e-4 .. 8e-3 log-spaced, factor 2, on both rates) and writes sweep.csv, map.png and
config.json (into --out, else a temporary folder), as `python -m playground sweep` does.
Reported: wall and CPU seconds of this process (Ray workers' CPU is not in it), the outcome
counts, the outcome of the cell holding ring_stable's rates (lr_d 1e-3, lr_g 2e-3), and the
goals: <= 60 s wall on this 2-core machine, >= 3 different outcomes, that cell "converged".
Wall seconds depend on what else runs; the load average is printed next to them.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from playground.config import get_preset
from playground.sweep import DEFAULT_X, DEFAULT_Y, run_sweep, write_sweep

GOAL_S = 60.0
GOAL_OUTCOMES = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS")
    parser.add_argument("--steps", type=int, help="steps per cell (default: the preset's)")
    parser.add_argument("--out", help="where to keep the files (default: a temporary folder)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    preset, stable = get_preset("ring_map"), get_preset("ring_stable").config
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run_sweep(preset, DEFAULT_X, DEFAULT_Y, seeds=1, steps=args.steps, ray=args.ray)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or scratch)
        write_sweep(rows, out, {"preset": preset.name, "x": DEFAULT_X, "y": DEFAULT_Y, "seeds": 1,
                                "steps": args.steps or preset.steps, "base": preset.config.to_dict()})
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counts = Counter(r["outcome"] for r in rows)
    cell = next(r for r in rows if r["x"] == stable.lr_d and r["y"] == stable.lr_g)
    runner = "in-process" if args.ray is None else f"ray {args.ray or 'local'}"
    print(f"ring_map 6x6, 1 seed, {args.steps or preset.steps} steps, {runner}: "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU in this process (load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print("outcomes: " + ", ".join(f"{name} {n}" for name, n in counts.most_common()))
    print(f"ring_stable's cell (lr_d {stable.lr_d:g}, lr_g {stable.lr_g:g}): {cell['outcome']} "
          f"({cell['modes_covered']}/{cell['modes_total']} modes, {cell['high_quality']:.0%} high quality)")
    goals = {f"<= {GOAL_S:g} s wall": wall <= GOAL_S, f">= {GOAL_OUTCOMES} outcomes": len(counts) >= GOAL_OUTCOMES,
             "ring_stable's cell converged": cell["outcome"] == "converged"}
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in goals.items()))
    return 0
