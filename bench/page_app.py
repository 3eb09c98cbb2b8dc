"""The app side of bench/page_rate.py: the real app.py in a child process, and its runs.

    with ServedApp() as app: app.url, app.query() -> {"t", "sessions": {hash: {step, running,
    last_seen}}, "tids"}; AppRun(app, running_session(app)).state("pause" | "start" | "q")

`python -m bench.page_app` is the child: it imports app.py (1 torch thread, the registry,
build_app), launches it on GRADIO_SERVER_PORT, then answers each stdin line on stdout (after
PREFIX, as Gradio may print there too) with every session's step counter and the server's clock,
so reading a run's progress needs no tick. Lines: "q", "pause KEY", "start KEY", "render S"
(what-if: the worker renders every S s from now on), "quit".

To list the sessions the child swaps playground.registry.SessionRegistry for a subclass that
remembers the keys it was asked for (the registry keeps its sessions to itself) before it
imports app.py, so the app is still exactly app.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.common import ROOT, free_port, trainer_thread_ids

PREFIX = "@@"


def set_render_every(seconds: str | float | None) -> None:
    """What-if: another worker render cadence (playground.session.RENDER_EVERY_S) in this process."""
    if seconds:
        import playground.session
        playground.session.RENDER_EVERY_S = float(seconds)


# --- the child process ---------------------------------------------------------------------
def keyed_registry():
    """Make app.py's SessionRegistry one that remembers its keys; returns the key list."""
    import playground.registry

    keys: list[str] = []

    class KeyedRegistry(playground.registry.SessionRegistry):
        def get(self, key):
            if key not in keys:
                keys.append(key)
            return super().get(key)

    playground.registry.SessionRegistry = KeyedRegistry
    return keys


def answer(registry, keys: list[str]) -> None:
    sessions = {}
    for key in list(keys):
        session = registry.find(key)
        if session is not None:          # not session.snapshot(): reading it counts as watching
            sessions[key] = {"step": session.step_count, "run_pid": session.run_pid,
                             "running": session.running, "last_seen": session.last_seen}
    print(PREFIX, json.dumps({"t": time.monotonic(), "sessions": sessions,
                              "tids": trainer_thread_ids()}), flush=True)


def serve() -> None:
    """Child: the real app.py on GRADIO_SERVER_PORT; answers each stdin line with the sessions' steps."""
    set_render_every(os.environ.get("BENCH_RENDER_EVERY_S"))
    if os.environ.get("BENCH_TICK_S"):                   # what-if: another gr.Timer period
        import playground.ui.app
        import playground.ui.train_tab
        playground.ui.app.TICK_S = playground.ui.train_tab.TICK_S = float(os.environ["BENCH_TICK_S"])
    keys = keyed_registry()
    import app                                           # set_threads(1), registry, build_app
    from playground.checkpoint import MAX_CHECKPOINT_BYTES

    app.demo.launch(prevent_thread_lock=True, quiet=True, max_file_size=MAX_CHECKPOINT_BYTES)
    registry = app.demo.registry
    import playground.session
    import playground.ui.app
    print(PREFIX, json.dumps({"ready": True, "render_every": playground.session.RENDER_EVERY_S,
                              "tick_s": playground.ui.app.TICK_S}), flush=True)
    for line in sys.stdin:
        command, _, key = line.strip().partition(" ")
        if command == "quit":
            break
        if command in ("pause", "start"):            # pause / resume the run of session `key`
            getattr(registry.get(key), command)()
        elif command == "render":                    # what-if: another render cadence, from now on
            set_render_every(key)
        answer(registry, keys)
    app.demo.close()


# --- the parent's handle on it ---------------------------------------------------------------
class ServedApp:
    """Starts the child; `query()` -> {"t", "sessions": {hash: {step, running, last_seen}}, "tids"}."""

    def __init__(self, max_runs: int = 2, render_every: float | None = None, tick_s: float | None = None):
        self.render_every, self.tick_s = render_every, tick_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.max_runs = max_runs

    def __enter__(self) -> "ServedApp":
        import psutil

        env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(self.port),
                   GRADIO_ANALYTICS_ENABLED="False", GAN_PLAYGROUND_MAX_RUNS=str(self.max_runs),
                   BENCH_RENDER_EVERY_S=str(self.render_every or ""), BENCH_TICK_S=str(self.tick_s or ""))
        self.popen = subprocess.Popen([sys.executable, "-m", "bench.page_app"], cwd=ROOT, env=env,
                                      text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        self.process = psutil.Process(self.popen.pid)
        ready = self._read()
        self.render_every, self.tick_s = ready["render_every"], ready["tick_s"]
        return self

    def _read(self) -> dict:
        while True:
            line = self.popen.stdout.readline()
            if not line:
                raise RuntimeError("the app process ended")
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])

    def query(self, command: str = "q") -> dict:
        self.popen.stdin.write(command + "\n")
        self.popen.stdin.flush()
        return self._read()

    def __exit__(self, *exc) -> None:
        try:
            self.popen.stdin.write("quit\n")
            self.popen.stdin.flush()
            self.popen.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.popen.terminate()               # only the process this object started
            self.popen.wait(timeout=10)


def running_session(app: ServedApp, timeout: float = 30) -> str:
    """The hash of the one running session (the page's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [k for k, s in app.query()["sessions"].items() if s["running"]]
        if len(running) == 1:
            return running[0]
        time.sleep(0.2)
    raise RuntimeError("no single running session appeared")


class AppRun:
    """The page's run inside the app process: steps, trainer thread, pause/resume over stdin."""

    def __init__(self, app: ServedApp, key: str):
        self.app, self.key = app, key

    def state(self, command: str = "q") -> tuple[float, int, int | None, float]:
        answer = self.app.query(command if command == "q" else f"{command} {self.key}")
        session = answer["sessions"][self.key]
        return answer["t"], session["step"], (answer["tids"] or [None])[0], session["last_seen"]

    def run_pid(self) -> int | None:
        """The pid of the process the run trains in, when it is not the app's (the served app)."""
        return self.app.query()["sessions"][self.key].get("run_pid")


if __name__ == "__main__":
    serve()
