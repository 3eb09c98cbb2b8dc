"""What recording a run's film costs: training rate with the film on vs off, and a long run's memory.

    .venv/bin/python -m bench film_cost [--blocks 8] [--block-steps 200] [--long 100000] [--quick]

Rate: two Runs of the same config are trained in interleaved blocks (A, B, A, B...), each block
ending with a render (snapshot.render: samples, D field, diagnosis, as the app's worker does
about once a second). One Run records a film at every render (film.Film, as the app does),
the other does not. Printed: the median ratio of adjacent blocks' rates (side by side, noisy
on a shared machine) and the film's own CPU time as a share of the recording run's (exact).
Target: <= 5 %.
Memory: a --long-step run of a tiny model with a render (and a frame) every 20 steps: the film
keeps <= FRAME_CAP frames and RSS grows < 50 MB between 10 % and 100 % of the run.
"""
from __future__ import annotations

import argparse
import statistics
import time

from bench.common import machine_line, rss_mb
from playground.config import TrainConfig
from playground.film import FRAME_CAP, Film
from playground.run import Run
from playground.snapshot import Snapshot, render
from playground.trainer import set_threads

RING = TrainConfig(dataset="ring", width=64, depth=2, batch_size=128, z_dim=2, device="cpu")
TINY = TrainConfig(dataset="ring", width=8, depth=1, batch_size=16, z_dim=2, device="cpu")


def block_rate(run: Run, snap: Snapshot, steps: int) -> tuple[float, Snapshot]:
    """Steps per second of `steps` steps and the render that ends them."""
    began = time.perf_counter()
    for _ in range(steps):
        run.step()
    snap = render(run, snap)
    return steps / (time.perf_counter() - began), snap


class TimedFilm(Film):
    """A Film that adds up the CPU time of its own recording (Film.add)."""

    cpu_s = 0.0

    def add(self, *args, **kwargs) -> bool:
        began = time.process_time()
        try:
            return super().add(*args, **kwargs)
        finally:
            self.cpu_s += time.process_time() - began


def rate_ratio(blocks: int, block_steps: int) -> dict:
    """Interleaved blocks of a run with a film and one without, and the film's own CPU time.

    The ratio of rates is the issue's side-by-side measure, but on a shared 2-core machine two
    blocks a second apart differ by several per cent by themselves; the median of adjacent
    pairs' ratios cancels slow drift. The film's own CPU time over the recording run's CPU time
    is the cost with no such noise."""
    on, off = Run(RING), Run(RING)
    on.film = TimedFilm()
    snaps = {id(on): Snapshot(state="running"), id(off): Snapshot(state="running")}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    on_cpu = 0.0
    for index in range(blocks):
        order = (("on", on), ("off", off)) if index % 2 == 0 else (("off", off), ("on", on))
        for name, run in order:
            began = time.process_time()
            rate, snaps[id(run)] = block_rate(run, snaps[id(run)], block_steps)
            on_cpu += (time.process_time() - began) if name == "on" else 0.0
            rates[name].append(rate)
    med = {k: statistics.median(v) for k, v in rates.items()}
    pairs = [a / b for a, b in zip(rates["on"], rates["off"])]
    return {**med, "ratio": statistics.median(pairs), "spread": (min(pairs), max(pairs)),
            "frames": len(on.film), "film_share": on.film.cpu_s / on_cpu,
            "ms_per_frame": 1000 * on.film.cpu_s / max(1, blocks)}


def long_run(steps: int) -> dict:
    run, snap = Run(TINY), Snapshot(state="running")
    run.film = Film()
    mark, first = max(1, steps // 10), None
    for step in range(1, steps + 1):
        run.step()
        if step % 20 == 0:
            snap = render(run, snap)
        if step == mark:
            first = rss_mb()
    return {"frames": len(run.film), "stride": run.film.stride, "rss_first": first,
            "rss_last": rss_mb(), "steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench film_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block-steps", type=int, default=200)
    parser.add_argument("--long", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="4 blocks of 50 steps, a 5000-step long run")
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.block_steps, args.long = 4, 50, 5000
    set_threads(1)
    print(machine_line())
    rate = rate_ratio(args.blocks, args.block_steps)
    print(f"film on {rate['on']:.1f} steps/s · off {rate['off']:.1f} steps/s · median pair ratio "
          f"{rate['ratio']:.3f} (pairs {rate['spread'][0]:.3f}..{rate['spread'][1]:.3f}) · "
          f"{rate['frames']} frames")
    print(f"the film's own CPU: {rate['ms_per_frame']:.3f} ms per frame, "
          f"{100 * rate['film_share']:.3f} % of the recording run's CPU (a frame every "
          f"{args.block_steps} steps; the app records one a second)")
    memory = long_run(args.long)
    growth = memory["rss_last"] - memory["rss_first"]
    print(f"{memory['steps']} steps: {memory['frames']} frames (cap {FRAME_CAP}, stride "
          f"{memory['stride']}) · RSS {memory['rss_first']:.1f} -> {memory['rss_last']:.1f} MB "
          f"({growth:+.1f} MB)")
    ok = rate["film_share"] <= 0.05 and memory["frames"] <= FRAME_CAP and growth < 50
    print("PASS" if ok else "FAIL", "(targets: the film's CPU <= 5 % of the run's, frames <= cap, "
          "RSS growth < 50 MB; the pair ratio is the noisy side-by-side cross-check)")
    return 0 if ok else 1
