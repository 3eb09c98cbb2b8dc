"""Is a long run's memory flat? RSS of a 100k-step run of a tiny model, watched as the app does.

    .venv/bin/python bench/long_run_rss.py [--steps 100000] [--first 10000]

Target (issue 3): RSS grows < 50 MB between step 10k and step 100k.

The run goes through the app's own path, in this process: a SessionRegistry and TrainHandlers
(a fake request names the session, as in tests/test_ui_handlers.py); Start starts the worker
thread, which trains and renders snapshots every RENDER_EVERY_S (samples, D field, metrics,
diagnosis) exactly as in the app, while this thread calls the page's tick every TICK_S with the
page's `sent` state (so figures are built whenever the worker rendered something new).
Model: ring, MLP width 8, depth 1, batch 16, 1 torch thread. RSS (psutil) is read at every
10k steps; the Python object count (gc.get_objects) shows whether objects pile up.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from apputil import CpuMeter, rss_mb  # noqa: E402
from benchutil import machine_line  # noqa: E402
from playground.config import TrainConfig  # noqa: E402
from playground.session import RENDER_EVERY_S, SessionRegistry  # noqa: E402
from playground.ui.controls import values_from_config  # noqa: E402
from playground.ui.train_tab import TICK_OUTPUTS, TICK_S, TrainHandlers  # noqa: E402

TARGET_MB = 50.0
TINY = TrainConfig(dataset="ring", arch="mlp", width=8, depth=1, batch_size=16, seed=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--first", type=int, default=10_000, help="the reference step")
    parser.add_argument("--every", type=int, default=10_000, help="RSS reading interval (steps)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line())
    print(f"config: {TINY.dataset} {TINY.arch} width {TINY.width} depth {TINY.depth} batch "
          f"{TINY.batch_size} z {TINY.z_dim}; render every {RENDER_EVERY_S:g} s, tick every {TICK_S:g} s")

    registry = SessionRegistry(max_running=1)
    handlers = TrainHandlers(registry)
    request = SimpleNamespace(session_hash="long-run")
    readings = [(0, rss_mb(), len(gc.get_objects()), 0.0)]
    sent, ticks, next_mark = None, 0, args.every
    began = time.perf_counter()
    try:
        with CpuMeter() as cpu:
            assert handlers.start(request, *values_from_config(TINY)) == "training"
            session = registry.get(request.session_hash)
            while True:
                out = dict(zip(TICK_OUTPUTS, handlers.tick(request, sent)))
                sent, ticks = out["sent"], ticks + 1
                step = session.trainer.step_count
                if step >= next_mark:
                    readings.append((step, rss_mb(), len(gc.get_objects()), time.perf_counter() - began))
                    print(f"  step {step:>7}: RSS {readings[-1][1]:7.1f} MB, {readings[-1][2]} objects, "
                          f"{readings[-1][3]:6.1f} s", flush=True)
                    next_mark += args.every
                if step >= args.steps:
                    break
                time.sleep(TICK_S)
            handlers.pause(request)
        wall = time.perf_counter() - began
        snap = session.snapshot()
        rows, evals, stride = len(session.history.rows), len(session.history.evals), session.history.stride
        final = snap.step
    finally:
        registry.close(request.session_hash)

    at_first = next(r for r in readings if r[0] >= args.first)
    last = readings[-1]
    growth = last[1] - at_first[1]
    print()
    print("| step | RSS MB | Python objects | wall s |")
    print("|---:|---:|---:|---:|")
    for step, rss, objects, seconds in readings:
        print(f"| {step} | {rss:.1f} | {objects} | {seconds:.1f} |")
    print()
    print("| run | steps | wall s | steps/s | ticks | RSS at 10k MB | RSS at end MB | growth MB | "
          "objects growth | history rows (stride) | evaluations | cores: this process / others | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
    print(f"| ring w{TINY.width} d{TINY.depth} b{TINY.batch_size} | {final} | {wall:.0f} | "
          f"{final / wall:.0f} | {ticks} | {at_first[1]:.1f} | {last[1]:.1f} | **{growth:+.1f}** | "
          f"{last[2] - at_first[2]:+d} | {rows} ({stride}) | {evals} | "
          f"{cpu.cores['own']:.2f} / {cpu.cores['others']:.2f} | "
          f"{'met' if growth < TARGET_MB else 'MISSED'} (< {TARGET_MB:g} MB) |")
    return 0 if growth < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
