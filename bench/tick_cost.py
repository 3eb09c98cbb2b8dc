"""What does one page refresh cost? The page's tick timed and its payload weighed.

    .venv/bin/python -m bench tick_cost [--presets ring_stable digits_dcgan] [--seconds 20] [--quick]

Targets (issue 3): median <= 30 ms per tick and <= 150 KB per update.

The tick is what the page's gr.Timer calls: `playground.ui.tick.tick(session.snapshot(), sent)`,
called here directly while the session's worker trains in the background exactly as in the app
(1 torch thread), so the tick competes with a live trainer for the GIL as it does on the server.
Two paths alternate at twice the page's rate (TICK_S / 2), so each sees the page's cadence:
- full: `sent=None`, every view rebuilt (what a page that just opened, or a worst case, costs);
- skip: `sent` = what the previous skip-path tick returned, as the page's gr.State holds it:
  outputs whose data did not change since that tick are left out of the update.
Columns:
- tick ms: snapshot + figures built, wall clock: what the target is about. It includes waiting
  for the GIL (the trainer thread holds it between its torch calls) and for a core (other
  processes); CPU ms (time.thread_time of this thread) is the work itself;
- + serialize ms: plus what Gradio's postprocess then does with the values: each Plotly
  figure's to_json() (the sample grid is already an inline PNG, built by the tick);
- payload KB: the figures' JSON + the text outputs (the grid's <img> included), per update;
- worker render: playground.snapshot.render(run, snapshot) (samples, D field, manifold,
  diagnosis), which the worker runs every RENDER_EVERY_S, timed on the paused run between steps
  (Session.with_run); "with evaluation" adds Run.evaluate(), which the worker runs at least
  every EVAL_MAX_S while the page watches.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from bench.common import CpuMeter, machine_line, p95, payload_bytes
from playground.config import get_preset
from playground.registry import SessionRegistry
from playground.session import RENDER_EVERY_S
from playground.snapshot import render
from playground.ui import tick
from playground.ui.train_tab import TICK_S

TARGET_MS, TARGET_KB = 30.0, 150.0
NAMES = tuple(n for n in tick.OUTPUTS if n != "sent")


def render_ms(session, count: int, evaluate: bool) -> list[float]:
    """ms of `count` worker renders of the session's run, between steps as the worker does."""
    def timed(run) -> float:
        began = time.perf_counter()
        if evaluate:
            run.evaluate()
        render(run, session.snapshot())
        return (time.perf_counter() - began) * 1000

    times = []
    for _ in range(count):
        times.append(session.with_run(timed))
        time.sleep(0.02)
    return times


def one_tick(session, sent: dict | None) -> dict:
    """One tick on either path, timed: its outputs, wall and CPU ms, payload sizes."""
    t0, c0 = time.perf_counter(), time.thread_time()
    out = tick.tick(session.snapshot(), sent)
    t1, c1 = time.perf_counter(), time.thread_time()
    sizes = payload_bytes(out)
    t2, c2 = time.perf_counter(), time.thread_time()
    return {"out": out, "ms": (t1 - t0) * 1000, "total_ms": (t2 - t0) * 1000,
            "cpu_ms": (c1 - c0) * 1000, "total_cpu_ms": (c2 - c0) * 1000,
            "kb": sum(sizes.values()) / 1024, "sizes": sizes,
            "skipped": sum(1 for n in NAMES if n not in out)}


def measure(preset: str, seconds: float, warmup: float) -> tuple[dict, dict]:
    """Alternating full / skip ticks at 2 / TICK_S Hz for `seconds`; (rows, worker render stats)."""
    registry = SessionRegistry(max_running=2)
    key = f"bench-{preset}"
    rows: dict[str, list[dict]] = {"full": [], "skip": []}
    sent = None
    try:
        notice = registry.start(key, get_preset(preset).config)
        assert notice.code == "started", notice
        session = registry.get(key)
        end_warm = time.perf_counter() + warmup
        while time.perf_counter() < end_warm:          # warm plotly's validators, first renders
            sent = tick.tick(session.snapshot(), sent)["sent"]
            time.sleep(TICK_S)
        step0, began = session.snapshot().step, time.perf_counter()
        next_tick, index = began, 0
        with CpuMeter() as cpu:
            while time.perf_counter() < began + seconds:
                time.sleep(max(0.0, next_tick - time.perf_counter()))
                next_tick += TICK_S / 2
                path = ("full", "skip")[index % 2]
                index += 1
                row = one_tick(session, None if path == "full" else sent)
                if path == "skip":
                    sent = row["out"]["sent"]
                rows[path].append(row)
        rate = (session.snapshot().step - step0) / (time.perf_counter() - began)
        session.pause()
        renders = render_ms(session, 15, evaluate=False)
        evals = render_ms(session, 5, evaluate=True)
    finally:
        registry.close(key)
    return rows, {"ms": statistics.median(renders), "eval_ms": statistics.median(evals),
                  "rate": rate, "cores": cpu.cores}


def print_ticks(results: dict) -> bool:
    """The per-path table; True when every path met the targets."""
    print("| preset | path | ticks | tick ms median | p95 | + serialize ms median | p95 | "
          "CPU ms (this thread): tick | + serialize | payload KB median | max | "
          f"outputs left out (of {len(NAMES)}, median) | target (30 ms, 150 KB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for preset, (rows, _) in results.items():
        for path, ticks in rows.items():
            ms, total, kb = ([t[k] for t in ticks] for k in ("ms", "total_ms", "kb"))
            met = statistics.median(ms) <= TARGET_MS and max(kb) <= TARGET_KB
            ok &= met
            print(f"| {preset} | {path} | {len(ticks)} | {statistics.median(ms):.1f} | {p95(ms):.1f} | "
                  f"{statistics.median(total):.1f} | {p95(total):.1f} | "
                  f"{statistics.median(t['cpu_ms'] for t in ticks):.1f} | "
                  f"{statistics.median(t['total_cpu_ms'] for t in ticks):.1f} | "
                  f"{statistics.median(kb):.1f} | {max(kb):.1f} | "
                  f"{statistics.median(t['skipped'] for t in ticks):g} | {'met' if met else 'MISSED'} |")
    return ok


def print_details(results: dict) -> None:
    print("\nPayload of a full tick, by output (KB, median):\n")
    print("| preset | " + " | ".join(NAMES) + " |")
    print("|---|" + "---:|" * len(NAMES))
    for preset, (rows, _) in results.items():
        cells = [statistics.median(t["sizes"].get(n, 0) for t in rows["full"]) / 1024 for n in NAMES]
        print(f"| {preset} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print(f"\n| preset | worker render ms (median) | with evaluation ms | share of training time "
          f"(render / {RENDER_EVERY_S:g} s) | steps/s while ticking at {2 / TICK_S:g} Hz | "
          "cores: this process | others |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for preset, (_, r) in results.items():
        print(f"| {preset} | {r['ms']:.1f} | {r['eval_ms']:.1f} | "
              f"{r['ms'] / (RENDER_EVERY_S * 1000):.1%} | {r['rate']:.1f} | "
              f"{r['cores']['own']:.2f} | {r['cores']['others']:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["ring_stable", "digits_dcgan"])
    parser.add_argument("--seconds", type=float, default=20.0, help="per preset, both paths")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="4 s per preset after 1 s warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 4.0, 1.0
    torch.set_num_threads(1)
    print(machine_line())
    print(f"{args.seconds:g} s per preset after {args.warmup:g} s warm-up; full and skip ticks "
          f"alternate at {2 / TICK_S:g} Hz (each path {1 / TICK_S:g} Hz)\n")
    results = {preset: measure(preset, args.seconds, args.warmup) for preset in args.presets}
    ok = print_ticks(results)
    print_details(results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
