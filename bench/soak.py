"""Soak: 6 visitors use the real app for 5 minutes on this machine, then leave.

    .venv/bin/python -m bench soak [--seconds 300] [--visitors 6] [--quick]

The app is launched in-process on 127.0.0.1 (a free port) and driven through gradio_client, as
browsers would: each visitor starts a run, polls the page tick about once a second, and now and
then edits a learning rate, pauses and resumes, steps, walks the latent space and exports files
(each of these once right after Start, then at random).
The registry is the served app's: each run in its own process (process_session.py).
Reports: errors (must be 0), RSS at start and end, trainer threads and run processes left after
the visitors leave (must be 0 within 30 s), and the size of Gradio's temp folder (its cache, where exports,
GIFs and uploads live) every 30 s: flat means it stops growing once the oldest files reach the
app's retention age (exports.KEEP_FILES_S, swept every minute by delete_cache), while the
visitors keep working. --quick: 2 visitors for 20 s (a smoke test of the script).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.common import control_args, rss_mb, serve, trainer_threads
from playground.config import TrainConfig
from playground.process_session import ProcessSession
from playground.registry import SessionRegistry
from playground.trainer import set_threads

CONFIGS = [TrainConfig(width=32, depth=2, batch_size=64, z_dim=2),
           TrainConfig(dataset="digits", image_size=8, width=64, depth=2, batch_size=32, z_dim=16),
           TrainConfig(dataset="grid", loss="hinge", width=32, depth=2, batch_size=64)]
STARTED = "Training."          # the message of a successful Start (ui/wording.py NOTICES)


def _run_process_list() -> list:
    """The live run processes (process_session.ProcessSession children): what the fork server,
    a child of this process, has forked."""
    found = []
    for child in psutil.Process().children():
        try:
            if "multiprocessing.forkserver" in " ".join(child.cmdline()):
                found += [p for p in child.children() if p.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            pass
    return found


def run_processes() -> int:
    """How many run processes are alive."""
    return len(_run_process_list())


def run_processes_mb() -> float:
    """The run processes' own memory (USS: what is not shared with the fork server), in MB."""
    total = 0
    for process in _run_process_list():
        try:
            total += process.memory_full_info().uss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class Visitor:
    """One gradio_client visitor: its own session, a run, ticks and the odd gesture."""

    def __init__(self, url: str, index: int, errors: list, counts: dict):
        from gradio_client import Client

        self.index, self.errors, self.counts = index, errors, counts
        self.rng = random.Random(index)
        self.config = CONFIGS[index % len(CONFIGS)].replace(seed=index)
        self.client = Client(url, verbose=False, download_files=False)

    def call(self, *args, api_name: str):
        try:
            out = self.client.predict(*args, api_name=api_name)
            self.counts[api_name] = self.counts.get(api_name, 0) + 1
            return out
        except Exception as err:  # noqa: BLE001 - every failure is a soak error
            self.errors.append(f"visitor {self.index} {api_name}: {err!r}"[:300])
            return None

    def with_config(self, api_name: str):
        return self.call(*control_args(self.client, api_name, self.config), api_name=api_name)

    def gesture(self, roll: float) -> None:
        """One thing a visitor does now and then, chosen by `roll` in [0, 1)."""
        if roll < 0.05:
            self.config = self.config.replace(lr_d=self.rng.choice((5e-4, 1e-3, 2e-3)))
            self.with_config("/update")
        elif roll < 0.07:
            self.call(api_name="/pause")
            self.with_config("/step")
            self.with_config("/start")
        elif roll < 0.08:
            self.call("session", None, self.rng.randrange(100), self.rng.randrange(100), 8,
                      "slerp", api_name="/interpolate")
        elif roll < 0.085:
            self.call(api_name="/export")

    def visit(self, until: float) -> None:
        """Start, every gesture once (so even a short soak calls every endpoint), then ticks
        about once a second with the odd gesture until `until`."""
        out = self.with_config("/start")
        if not out or out[0] != STARTED:
            self.errors.append(f"visitor {self.index} could not start: {out and out[0]!r}")
        for roll in (0.0, 0.06, 0.075, 0.082):
            self.gesture(roll)
        while time.monotonic() < until:
            self.call(None, api_name="/tick")          # the argument: the lesson question
            self.gesture(self.rng.random())
            time.sleep(1.0)


def memory_mb() -> float:
    """The server's RSS plus its run processes' own memory (their USS)."""
    return rss_mb() + run_processes_mb()


def soak(url: str, registry: SessionRegistry, args, temp: Path) -> dict:
    """The visitors' whole stay and their leaving; the figures to report."""
    errors: list[str] = []
    counts: dict[str, int] = {}
    visitors = [Visitor(url, i, errors, counts) for i in range(args.visitors)]
    started = time.monotonic()
    until = started + args.seconds
    workers = [threading.Thread(target=v.visit, args=(until,)) for v in visitors]
    for worker in workers:
        worker.start()
    time.sleep(min(30.0, args.seconds / 4))          # warm-up: every run built and training
    series = [(time.monotonic() - started, folder_bytes(temp), memory_mb())]
    running_mid = registry.running_count()
    next_sample = time.monotonic() + 30
    while any(worker.is_alive() for worker in workers):
        time.sleep(0.5)
        if time.monotonic() >= next_sample:
            series.append((time.monotonic() - started, folder_bytes(temp), memory_mb()))
            next_sample += 30
    series.append((time.monotonic() - started, folder_bytes(temp), memory_mb()))
    steps = [s.snapshot().step for v in visitors
             if (s := registry.find(v.client.session_hash)) is not None]
    for visitor in visitors:                         # the visitors leave (tabs close)
        visitor.client.close()
    left = time.monotonic()
    while (trainer_threads() or run_processes()) and time.monotonic() - left < 30:
        time.sleep(0.5)
    return {"errors": errors, "counts": counts, "series": series, "running_mid": running_mid,
            "steps": steps, "threads_left": trainer_threads(), "processes_left": run_processes(),
            "gone_after": time.monotonic() - left}


def report(args, r: dict) -> bool:
    (_, disk_start, rss_start), (_, disk_end, rss_end) = r["series"][0], r["series"][-1]
    counts = r["counts"]
    print(f"soak: {args.visitors} visitors for {args.seconds:.0f} s on {os.cpu_count()} cores")
    print(f"calls: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
    print(f"runs training at once (after warm-up): {r['running_mid']}; steps per run at the end: {r['steps']}")
    print(f"errors: {len(r['errors'])}")
    for line in r["errors"][:10]:
        print("  ", line)
    print(f"memory (server RSS + run processes' own): {rss_start:.0f} MB after warm-up -> {rss_end:.0f} MB at the end ({rss_end - rss_start:+.0f} MB)")
    print(f"temp folder: {disk_start / 2**20:.1f} MB -> {disk_end / 2**20:.1f} MB")
    print("every 30 s (s: temp MB, memory MB): "
          + ", ".join(f"{t:.0f}: {b / 2**20:.1f}, {m:.0f}" for t, b, m in r["series"]))
    print(f"trainer threads left: {r['threads_left']}, run processes left: {r['processes_left']} "
          f"({r['gone_after']:.1f} s after the visitors left)")
    judged = args.seconds >= 120              # a short soak is all warm-up: RSS not judged
    ok = not r["errors"] and r["threads_left"] == 0 and r["processes_left"] == 0 and (rss_end - rss_start < 100 or not judged)
    print(("PASS" if ok else "FAIL") + ("" if judged else " (RSS growth not judged: under 120 s)"))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--visitors", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="2 visitors for 20 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.visitors = 20.0, 2
    temp = Path(tempfile.mkdtemp(prefix="gan-soak-"))
    os.environ["GRADIO_TEMP_DIR"] = str(temp)        # Gradio and exports.cache_root() read it
    from playground.ui.app import limit_malloc_arenas   # imports gradio: after the variable

    set_threads(1)                                   # as app.py does
    limit_malloc_arenas()
    registry = SessionRegistry(max_running=args.visitors, session_class=ProcessSession)   # as served
    with serve(registry, heartbeat_s="1") as url:
        result = soak(url, registry, args, temp)
    return 0 if report(args, result) else 1


if __name__ == "__main__":
    sys.exit(main())
