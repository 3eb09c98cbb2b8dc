"""Ensemble vs K Trainers: member-steps/s of one vectorised Ensemble against K plain Trainers stepped in turn.

    .venv/bin/python -m bench ensemble [--ks 1 8 32] [--rounds 5] [--seconds 0.4]

Two sizes: the map's (presets/ring_map.json: ring MLP width 32, depth 2, batch 128, d_steps 2)
and a larger one (the same with width 128, batch 256). For each K the members differ in seed
and lr_d, as the cells of a sweep do. Both sides are warmed up, then alternate in rounds
(ensemble, trainers, ensemble, ...) inside this one process for about --seconds each, so the
load of other processes hits both alike; the table gives the median member-steps/s of each side
over the rounds (wall clock and CPU time) and the ratio ensemble / trainers. Goal: >= 4x at
K = 32 at the map's size. 1 torch thread.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from playground.config import load_preset
from playground.ensemble import Ensemble
from playground.trainer import Trainer

GOAL = 4.0


def sizes() -> dict[str, object]:
    base = load_preset("ring_map").replace(device="cpu")
    return {"map (w32 b128)": base, "large (w128 b256)": base.replace(width=128, batch_size=256)}


def timed(step, members: int, seconds: float) -> tuple[float, float]:
    """(member-steps per wall second, per CPU second) of calling step() for about `seconds`."""
    wall, cpu, count = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - wall < seconds or count < 2:
        step()
        count += 1
    return (members * count / (time.perf_counter() - wall),
            members * count / max(time.process_time() - cpu, 1e-9))


def measure(config, k: int, rounds: int, seconds: float) -> dict:
    configs = [config.replace(seed=i, lr_d=config.lr_d * (1 + 0.1 * i)) for i in range(k)]
    ensemble = Ensemble(configs)
    trainers = [Trainer(c, dataset=ensemble.dataset) for c in configs]

    def step_trainers():
        for trainer in trainers:
            trainer.step()

    for _ in range(3):                       # warm-up: allocator, first-call costs
        ensemble.step()
        step_trainers()
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(timed(ensemble.step, k, seconds))
        theirs.append(timed(step_trainers, k, seconds))
    med = lambda pairs, i: statistics.median(p[i] for p in pairs)    # noqa: E731
    return {"ensemble": med(ours, 0), "trainers": med(theirs, 0),
            "ensemble_cpu": med(ours, 1), "trainers_cpu": med(theirs, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.4, help="per side and round")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; torch "
          f"{torch.__version__}, 1 thread; median of {args.rounds} interleaved rounds\n")
    print("| size | K | ensemble member-steps/s | K Trainers member-steps/s | ratio | "
          "ratio on CPU time |")
    print("|---|---:|---:|---:|---:|---:|")
    verdict = None
    for name, config in sizes().items():
        for k in args.ks:
            r = measure(config, k, args.rounds, args.seconds)
            ratio, cpu_ratio = r["ensemble"] / r["trainers"], r["ensemble_cpu"] / r["trainers_cpu"]
            print(f"| {name} | {k} | {r['ensemble']:.0f} | {r['trainers']:.0f} | {ratio:.2f}x | "
                  f"{cpu_ratio:.2f}x |", flush=True)
            if name.startswith("map") and k == 32:
                verdict = ratio
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    if verdict is not None:
        print(f"goal >= {GOAL:g}x at K = 32, map size: {verdict:.2f}x "
              f"{'met' if verdict >= GOAL else 'NOT met'}")
    return 0
