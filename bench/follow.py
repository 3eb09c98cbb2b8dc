"""Followers of a shared run: its training rate with 30 read-only viewers ticking at 1 Hz vs none.

    .venv/bin/python -m bench follow [--viewers 30] [--window 20] [--rounds 2] [--quick] [--threads]

The app is served in this process, with the registry the served app has: the lecturer's run
trains in its own process (process_session.ProcessSession; --threads: in a thread of the
server, as before). The lecturer's session trains the ring; it
shares a follow code, and --viewers gradio_client clients are made followers of it (as opening
the page with ?follow=CODE does) and call the follower's /follow (ui/follow.py) once a second
each, from a separate process, as students' browsers would. Each makes one call first (its page
joining: Gradio builds the session's state then) before the timed windows. A window without
viewers, --rounds windows with them ticking, one without again; the run's rate is measured
from its step counter in each window. Target: the followed run keeps >= 0.8x its rate without
viewers, and every viewer sees the step advance.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time

import psutil

from bench.common import free_port, machine_line
from playground.config import get_preset
from playground.process_session import ProcessSession
from playground.registry import SessionRegistry
from playground.session import Session
from playground.trainer import set_threads
from playground.ui.app import build_app
from playground.ui.visitors import Visitors

# The viewers stand in for students' browsers, which run on their own machines, so their own
# CPU should take as little as possible from the server on this one: they are niced (--nice),
# and they connect with ssl_verify=False. The server is plain http on 127.0.0.1, so there is
# nothing to verify, but gradio_client's default builds a new TLS context (loading the CA
# bundle) for every call's POST and every event stream: measured 64 ms of the viewer's CPU per
# call, against 6.7 ms without it (30 viewers then take 0.17 core instead of 1.3, and reach
# 1 Hz). Their achieved tick rate is reported: a measurement counts only if they kept ~1 Hz.
VIEWER = r"""
import json, os, re, sys, threading, time
url, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.nice(int(sys.argv[4]))
from gradio_client import Client
clients = [Client(url, verbose=False, download_files=False, ssl_verify=sys.argv[5] == '1')
           for _ in range(count)]
print(json.dumps([c.session_hash for c in clients]), flush=True)
sys.stdin.readline()                                   # the server made them followers
for client in clients:                                 # each page's first refresh: it joins
    client.predict(api_name="/follow")
print("joined", flush=True)
seen = [[] for _ in clients]
def watch(i):
    client, deadline = clients[i], time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        status = client.predict(api_name="/follow")[0]
        found = re.search(r"step (\d+)", status) if isinstance(status, str) else None
        if found:
            seen[i].append(int(found.group(1)))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
threads = [threading.Thread(target=watch, args=(i,)) for i in range(count)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps([[s[0], s[-1], len(s)] if s else [] for s in seen]), flush=True)
"""


def cpu_seconds(run: psutil.Process | None, viewer: psutil.Process | None) -> dict[str, float]:
    """CPU seconds so far of the run (its own process, or its thread in this one), the rest of
    this (server) process, and the viewers' process: where the cores went in a window."""
    def total(process: psutil.Process | None) -> float:
        try:
            times = process.cpu_times() if process is not None else None
        except psutil.NoSuchProcess:
            times = None
        return times.user + times.system if times else 0.0

    trainer = {t.native_id for t in threading.enumerate() if t.name == "gan-trainer"}
    threads = psutil.Process().threads()
    in_thread = sum(t.user_time + t.system_time for t in threads if t.id in trainer)
    server = sum(t.user_time + t.system_time for t in threads) - in_thread
    return {"training": in_thread + total(run), "server": server, "viewers": total(viewer)}


def window_rate(session, seconds: float, viewer: psutil.Process | None = None) -> float:
    """The run's steps/s over `seconds`; prints the cores each part used meanwhile."""
    run = psutil.Process(session.run_pid) if session.run_pid is not None else None
    first, began, cpu = session.snapshot().step, time.monotonic(), cpu_seconds(run, viewer)
    time.sleep(seconds)
    rate = (session.snapshot().step - first) / (time.monotonic() - began)
    used = {k: (v - cpu[k]) / seconds for k, v in cpu_seconds(run, viewer).items()}
    print(f"  {rate:6.1f} steps/s · cores used: training {used['training']:.2f}, "
          f"rest of the server {used['server']:.2f}, viewers {used['viewers']:.2f}", flush=True)
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench follow", description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=30)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--nice", type=int, default=10, help="the viewers' process's niceness")
    parser.add_argument("--quick", action="store_true", help="5 viewers, 6 s windows, 1 round")
    parser.add_argument("--threads", action="store_true",
                        help="train the run in a thread of the server (the old design), not its own process")
    parser.add_argument("--verify-tls", action="store_true",
                        help="viewers keep gradio_client's default ssl_verify=True (64 ms of CPU a call)")
    args = parser.parse_args(argv)
    if args.quick:
        args.viewers, args.window, args.rounds = 5, 6.0, 1
    set_threads(1)
    print(machine_line())
    session_class = Session if args.threads else ProcessSession
    registry = SessionRegistry(max_running=2, session_class=session_class)
    visitors = Visitors(lesson="ring_stable")
    config = get_preset("ring_stable").config.replace(device="cpu")
    demo = build_app(registry, visitors)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        registry.start("lecturer", config)
        session = registry.get("lecturer")
        code = registry.share("lecturer")
        quiet = [window_rate(session, args.window)]
        viewer = subprocess.Popen([sys.executable, "-c", VIEWER, url, str(args.viewers),
                                   str(args.window * args.rounds + 5), str(args.nice),
                                   "1" if args.verify_tls else "0"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hashes = json.loads(viewer.stdout.readline())
        for key in hashes:
            visitors.get(key).following = code
        viewer.stdin.write("go\n")
        viewer.stdin.flush()
        viewer.stdout.readline()                       # every viewer has joined: they tick now
        watched = [window_rate(session, args.window, psutil.Process(viewer.pid))
                   for _ in range(args.rounds)]
        seen = json.loads(viewer.stdout.readline())
        viewer.wait(timeout=60)
        quiet.append(window_rate(session, args.window))
    finally:
        registry.close("lecturer")
        demo.close()
    alone, followed = statistics.median(quiet), statistics.median(watched)
    advanced = sum(1 for s in seen if s and s[1] > s[0])
    hz = sum(s[2] for s in seen if s) / (len(seen) * (args.window * args.rounds + 5))
    ratio = followed / alone if alone else 0.0
    print(f"without viewers {alone:.1f} steps/s · with {args.viewers} viewers {followed:.1f} steps/s · "
          f"ratio {ratio:.2f} · {advanced}/{len(seen)} viewers saw the step advance · "
          f"each ticked {hz:.2f}/s (nice {args.nice})")
    ok = ratio >= 0.8 and advanced == len(seen) and hz >= 0.9
    print("PASS" if ok else "FAIL", "(target: ratio >= 0.8, every viewer sees the run advance, "
          "viewers tick >= 0.9/s)")
    return 0 if ok else 1
