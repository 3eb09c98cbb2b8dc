"""Is a long run's memory flat? RSS of a 100k-step run of a tiny model, watched as the app does.

    .venv/bin/python -m bench long_run_rss [--steps 100000] [--first 10000] [--every 10000] [--quick]

Target (issue 3): RSS grows < 50 MB between step 10k and step 100k.

The run goes through the app's own path, in this process: a SessionRegistry starts the session's
worker thread, which trains and renders snapshots every RENDER_EVERY_S (samples, D field,
metrics, diagnosis) exactly as in the app, while this thread calls the page's tick
(playground.ui.tick.tick on the session's snapshot) every TICK_S with the page's `sent` state,
so figures are built whenever the worker rendered something new. Model: ring, MLP width 8,
depth 1, batch 16, 1 torch thread. RSS (psutil) is read every --every steps; the Python object
count (gc.get_objects) shows whether objects pile up. --quick: 3000 steps, readings every 1000
(a smoke test: it shows the benchmark works, not whether memory is flat).
"""
from __future__ import annotations

import argparse
import gc
import sys
import time

import torch

from bench.common import CpuMeter, machine_line, rss_mb
from playground.config import TrainConfig
from playground.registry import SessionRegistry
from playground.session import RENDER_EVERY_S
from playground.ui import tick
from playground.ui.train_tab import TICK_S

TARGET_MB = 50.0
TINY = TrainConfig(dataset="ring", arch="mlp", width=8, depth=1, batch_size=16, seed=0)
KEY = "long-run"


def watch(registry: SessionRegistry, steps: int, every: int) -> tuple[list[tuple], dict]:
    """Start the run, tick like a page until `steps`; (readings, facts about the run)."""
    readings = [(0, rss_mb(), len(gc.get_objects()), 0.0)]
    sent, ticks, next_mark = None, 0, every
    began = time.perf_counter()
    with CpuMeter() as cpu:
        notice = registry.start(KEY, TINY)
        assert notice.code == "started", notice
        session = registry.get(KEY)
        while True:
            snap = session.snapshot()
            sent, ticks = tick.tick(snap, sent)["sent"], ticks + 1
            if snap.step >= next_mark:
                readings.append((snap.step, rss_mb(), len(gc.get_objects()), time.perf_counter() - began))
                print(f"  step {snap.step:>7}: RSS {readings[-1][1]:7.1f} MB, {readings[-1][2]} objects, "
                      f"{readings[-1][3]:6.1f} s", flush=True)
                next_mark += every
            if snap.step >= steps:
                break
            time.sleep(TICK_S)
        session.pause()
    history = session.with_run(lambda run: (len(run.history.rows), len(run.history.evals),
                                            run.history.stride))
    facts = {"wall": time.perf_counter() - began, "ticks": ticks, "cores": cpu.cores,
             "step": session.snapshot().step, "history": history}
    return readings, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--first", type=int, default=10_000, help="the reference step")
    parser.add_argument("--every", type=int, default=10_000, help="RSS reading interval (steps)")
    parser.add_argument("--quick", action="store_true", help="3000 steps, a reading every 1000")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.first, args.every = 3000, 1000, 1000
    torch.set_num_threads(1)
    print(machine_line())
    print(f"config: {TINY.dataset} {TINY.arch} width {TINY.width} depth {TINY.depth} batch "
          f"{TINY.batch_size} z {TINY.z_dim}; render every {RENDER_EVERY_S:g} s, tick every {TICK_S:g} s")
    registry = SessionRegistry(max_running=1)
    try:
        readings, facts = watch(registry, args.steps, args.every)
    finally:
        registry.close(KEY)

    at_first = next(r for r in readings if r[0] >= args.first)
    last = readings[-1]
    growth = last[1] - at_first[1]
    rows, evals, stride = facts["history"]
    print("\n| step | RSS MB | Python objects | wall s |\n|---:|---:|---:|---:|")
    for step, rss, objects, seconds in readings:
        print(f"| {step} | {rss:.1f} | {objects} | {seconds:.1f} |")
    print(f"\n| run | steps | wall s | steps/s | ticks | RSS at {args.first} MB | RSS at end MB | "
          "growth MB | objects growth | history rows (stride) | evaluations | "
          "cores: this process / others | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
    print(f"| ring w{TINY.width} d{TINY.depth} b{TINY.batch_size} | {facts['step']} | "
          f"{facts['wall']:.0f} | {facts['step'] / facts['wall']:.0f} | {facts['ticks']} | "
          f"{at_first[1]:.1f} | {last[1]:.1f} | **{growth:+.1f}** | {last[2] - at_first[2]:+d} | "
          f"{rows} ({stride}) | {evals} | {facts['cores']['own']:.2f} / {facts['cores']['others']:.2f} | "
          f"{'met' if growth < TARGET_MB else 'MISSED'} (< {TARGET_MB:g} MB) |")
    return 0 if growth < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
