"""Soak: 6 visitors use the real app for 5 minutes on this machine, then leave.

    .venv/bin/python bench/soak.py [--seconds 300] [--visitors 6]

The app is launched in-process on 127.0.0.1 (a free port) and driven through gradio_client, as
browsers would: each visitor starts a run, polls the page tick about once a second, and now and
then edits a learning rate, pauses and resumes, steps, walks the latent space and exports files.
Reports: errors (must be 0), RSS at start and end, trainer threads left after the visitors
leave (must be 0 within 30 s), and the size of the temp folders (Gradio's cache + exports)
every 30 s: flat means it stops growing once the oldest files reach the app's retention age
(exports.KEEP_FILES_S, swept every minute by delete_cache), while the visitors keep working.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMP = Path(tempfile.mkdtemp(prefix="gan-soak-"))
os.environ["GRADIO_TEMP_DIR"] = str(TEMP / "gradio")        # measured below; set before import
os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import psutil  # noqa: E402
from apputil import free_port  # noqa: E402
from gradio_client import Client  # noqa: E402

from playground.config import TrainConfig  # noqa: E402
from playground.session import SessionRegistry  # noqa: E402
from playground.trainer import set_threads  # noqa: E402
from playground.ui import exports  # noqa: E402
from playground.ui.app import build_app, limit_malloc_arenas  # noqa: E402
from playground.ui.controls import values_from_config  # noqa: E402

CONFIGS = [TrainConfig(width=32, depth=2, batch_size=64, z_dim=2),
           TrainConfig(dataset="digits", image_size=8, width=64, depth=2, batch_size=32, z_dim=16),
           TrainConfig(dataset="grid", loss="hinge", width=32, depth=2, batch_size=64)]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def temp_bytes() -> int:
    """Gradio's cache (uploads, exports, GIFs) and our export staging folders."""
    return folder_bytes(TEMP) + folder_bytes(exports._ROOT)


def trainer_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gan-trainer")


def visitor(url: str, index: int, until: float, errors: list, counts: dict) -> Client:
    """One visitor's session; returns the client (closed later, to leave)."""
    rng = random.Random(index)
    config = CONFIGS[index % len(CONFIGS)].replace(seed=index)
    client = Client(url, verbose=False, download_files=False)

    def call(*args, api_name):
        try:
            out = client.predict(*args, api_name=api_name)
            counts[api_name] = counts.get(api_name, 0) + 1
            return out
        except Exception as err:  # noqa: BLE001 - every failure is a soak error
            errors.append(f"visitor {index} {api_name}: {err!r}"[:300])
            return None

    message = call(*values_from_config(config), api_name="/start")
    if message != "training":
        errors.append(f"visitor {index} could not start: {message!r}")
    while time.monotonic() < until:
        call(api_name="/tick")
        roll = rng.random()
        if roll < 0.05:
            config = config.replace(lr_d=rng.choice((5e-4, 1e-3, 2e-3)))
            call(*values_from_config(config), api_name="/update")
        elif roll < 0.07:
            call(api_name="/pause")
            call(*values_from_config(config), api_name="/step")
            call(*values_from_config(config), api_name="/start")
        elif roll < 0.08:
            call("session", None, rng.randrange(100), rng.randrange(100), 8, "slerp", api_name="/interpolate")
        elif roll < 0.085:
            call(api_name="/export")
        time.sleep(1.0)
    return client


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--visitors", type=int, default=6)
    args = parser.parse_args()
    set_threads(1)                                   # as app.py does
    limit_malloc_arenas()
    registry = SessionRegistry(max_running=args.visitors)
    demo = build_app(registry)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    process = psutil.Process()
    errors: list[str] = []
    counts: dict[str, int] = {}
    clients: list[Client] = []

    started = time.monotonic()
    until = started + args.seconds
    workers = [threading.Thread(target=lambda i=i: clients.append(visitor(url, i, until, errors, counts)))
               for i in range(args.visitors)]
    for worker in workers:
        worker.start()
    time.sleep(min(30.0, args.seconds / 4))          # warm-up: every run built and training
    rss_start = process.memory_info().rss
    disk_start = temp_bytes()
    running_mid = registry.running_count()
    series = [(time.monotonic() - started, disk_start, rss_start)]
    next_sample = time.monotonic() + 30
    while any(worker.is_alive() for worker in workers):
        time.sleep(0.5)
        if time.monotonic() >= next_sample:
            series.append((time.monotonic() - started, temp_bytes(), process.memory_info().rss))
            next_sample += 30
    rss_end = process.memory_info().rss
    disk_end = temp_bytes()
    series.append((time.monotonic() - started, disk_end, rss_end))
    steps = [s.snapshot().step for s in list(registry._sessions.values())]

    for client in clients:                           # the visitors leave (tabs close)
        client.close()
    left = time.monotonic()
    while trainer_threads() and time.monotonic() - left < 30:
        time.sleep(0.5)
    threads_left, gone_after = trainer_threads(), time.monotonic() - left
    demo.close()

    print(f"soak: {args.visitors} visitors for {args.seconds:.0f} s on {os.cpu_count()} cores")
    print(f"calls: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
    print(f"runs training at once (after warm-up): {running_mid}; steps per run at the end: {steps}")
    print(f"errors: {len(errors)}")
    for line in errors[:10]:
        print("  ", line)
    print(f"RSS: {rss_start / 2**20:.0f} MB after warm-up -> {rss_end / 2**20:.0f} MB at the end "
          f"({(rss_end - rss_start) / 2**20:+.0f} MB)")
    print(f"temp folders: {disk_start / 2**20:.1f} MB -> {disk_end / 2**20:.1f} MB")
    print("every 30 s (s: temp MB, RSS MB): "
          + ", ".join(f"{t:.0f}: {b / 2**20:.1f}, {r / 2**20:.0f}" for t, b, r in series))
    print(f"trainer threads left: {threads_left} ({gone_after:.1f} s after the visitors left)")
    ok = not errors and threads_left == 0 and rss_end - rss_start < 100 * 2**20
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
