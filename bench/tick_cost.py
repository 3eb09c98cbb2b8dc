"""What does one page refresh cost? TrainHandlers.tick timed and its payload weighed.

    .venv/bin/python bench/tick_cost.py [--presets ring_stable digits_dcgan] [--seconds 20]

Targets (issue 3): median <= 30 ms per tick and <= 150 KB per update.

The handler is called directly, as tests/test_ui_handlers.py does (a fake request names the
session), while the session's worker trains in the background exactly as in the app (1 torch
thread), so the tick competes with a live trainer for the GIL as it does on the server.
Two paths alternate at twice the page's rate (TICK_S / 2), so each sees the page's cadence:
- full: `sent=None`, every view rebuilt (what a page that just opened, or a worst case, costs);
- skip: `sent` = what the previous skip-path tick returned, as the page's gr.State holds it:
  views whose data did not change since that tick come back as gr.skip().
Columns:
- handler ms: TrainHandlers.tick itself (snapshot + figures built), wall clock: what the target
  is about. It includes waiting for the GIL (the trainer thread holds it between its torch
  calls) and for a core (other processes); CPU ms (time.thread_time of this thread) is the work
  itself;
- + serialize ms: plus what Gradio's postprocess then does with the values: each Plotly
  figure's to_json() (the sample grid is already an inline PNG, built by the handler);
- payload KB: the figures' JSON + the text outputs (the grid's <img> included), per update;
- worker render: Session._render (samples, D field, manifold, metrics when due, diagnosis),
  which the worker runs every RENDER_EVERY_S; its share of training time is ms / RENDER_EVERY_S.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from apputil import CpuMeter, payload_bytes  # noqa: E402
from benchutil import machine_line  # noqa: E402
from playground.config import get_preset  # noqa: E402
from playground.session import RENDER_EVERY_S, SessionRegistry  # noqa: E402
from playground.ui.controls import values_from_config  # noqa: E402
from playground.ui.train_tab import TICK_OUTPUTS, TICK_S, TrainHandlers  # noqa: E402

TARGET_MS, TARGET_KB = 30.0, 150.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def render_ms(session, count: int, force_eval: bool) -> list[float]:
    """ms of `count` worker renders (Session._render), under the step lock as the worker takes it."""
    times = []
    for _ in range(count):
        with session._step_lock:
            t0 = time.perf_counter()
            session._render(force_eval=force_eval)
            times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    return times


def measure(preset: str, seconds: float, warmup: float) -> tuple[list[dict], dict]:
    """Alternating full / skip ticks at 2 / TICK_S Hz for `seconds`; (rows, worker render stats)."""
    registry = SessionRegistry(max_running=2)
    handlers = TrainHandlers(registry)
    request = SimpleNamespace(session_hash=f"bench-{preset}")
    rows = {"full": [], "skip": []}
    sent = None
    try:
        assert handlers.start(request, *values_from_config(get_preset(preset).config)) == "training"
        session = registry.get(request.session_hash)
        end_warm = time.perf_counter() + warmup
        while time.perf_counter() < end_warm:          # warm plotly's validators, first renders
            sent = dict(zip(TICK_OUTPUTS, handlers.tick(request, sent)))["sent"]
            time.sleep(TICK_S)
        step0, began = session.trainer.step_count, time.perf_counter()
        next_tick, index = began, 0
        with CpuMeter() as cpu:
            while time.perf_counter() < began + seconds:
                time.sleep(max(0.0, next_tick - time.perf_counter()))
                next_tick += TICK_S / 2
                path = ("full", "skip")[index % 2]
                index += 1
                t0, c0 = time.perf_counter(), time.thread_time()
                out = dict(zip(TICK_OUTPUTS, handlers.tick(request, None if path == "full" else sent)))
                t1, c1 = time.perf_counter(), time.thread_time()
                sizes = payload_bytes(out)
                t2, c2 = time.perf_counter(), time.thread_time()
                if path == "skip":
                    sent = out["sent"]
                skipped = [n for n in TICK_OUTPUTS if n != "sent" and out[n] == {"__type__": "update"}]
                rows[path].append({"ms": (t1 - t0) * 1000, "total_ms": (t2 - t0) * 1000,
                                   "cpu_ms": (c1 - c0) * 1000, "total_cpu_ms": (c2 - c0) * 1000,
                                   "kb": sum(sizes.values()) / 1024, "sizes": sizes,
                                   "skipped": len(skipped)})
        rate = (session.trainer.step_count - step0) / (time.perf_counter() - began)
        session.pause()
        # The worker's render, timed on the paused run (same weights, same sizes).
        renders = render_ms(session, 15, force_eval=False)
        evals = render_ms(session, 5, force_eval=True)
    finally:
        registry.close(request.session_hash)
    render = {"ms": statistics.median(renders), "eval_ms": statistics.median(evals), "rate": rate,
              "cores": cpu.cores}
    return rows, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["ring_stable", "digits_dcgan"])
    parser.add_argument("--seconds", type=float, default=20.0, help="per preset, both paths")
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line())
    print(f"{args.seconds:g} s per preset after {args.warmup:g} s warm-up; full and skip ticks "
          f"alternate at {2 / TICK_S:g} Hz (each path {1 / TICK_S:g} Hz)")
    results = {preset: measure(preset, args.seconds, args.warmup) for preset in args.presets}

    print()
    print("| preset | path | ticks | handler ms median | p95 | + serialize ms median | p95 | "
          "CPU ms (this thread): handler | + serialize | payload KB median | max | "
          "outputs skipped (of 8, median) | target (30 ms, 150 KB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for preset, (rows, _) in results.items():
        for path, ticks in rows.items():
            ms = [t["ms"] for t in ticks]
            total = [t["total_ms"] for t in ticks]
            kb = [t["kb"] for t in ticks]
            met = statistics.median(ms) <= TARGET_MS and max(kb) <= TARGET_KB
            ok &= met
            print(f"| {preset} | {path} | {len(ticks)} | {statistics.median(ms):.1f} | {p95(ms):.1f} | "
                  f"{statistics.median(total):.1f} | {p95(total):.1f} | "
                  f"{statistics.median(t['cpu_ms'] for t in ticks):.1f} | "
                  f"{statistics.median(t['total_cpu_ms'] for t in ticks):.1f} | {statistics.median(kb):.1f} | "
                  f"{max(kb):.1f} | {statistics.median(t['skipped'] for t in ticks):g} | "
                  f"{'met' if met else 'MISSED'} |")
    print()
    print("Payload of a full tick, by output (KB, median):")
    print()
    names = [n for n in TICK_OUTPUTS if n != "sent"]
    print("| preset | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for preset, (rows, _) in results.items():
        cells = [statistics.median(t["sizes"][n] for t in rows["full"]) / 1024 for n in names]
        print(f"| {preset} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print()
    print("| preset | worker _render ms (median) | with evaluation ms | share of training time "
          f"(render / {RENDER_EVERY_S:g} s) | steps/s while ticking at {2 / TICK_S:g} Hz | cores: this process | others |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for preset, (_, render) in results.items():
        print(f"| {preset} | {render['ms']:.1f} | {render['eval_ms']:.1f} | "
              f"{render['ms'] / (RENDER_EVERY_S * 1000):.1%} | {render['rate']:.1f} | "
              f"{render['cores']['own']:.2f} | {render['cores']['others']:.2f} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
