"""Does watching a run slow it down? Steps/s with the page streaming vs the same config headless.

    .venv/bin/python bench/page_rate.py [--client browser|gradio] [--presets ring_stable digits_dcgan]
                                        [--warmup 5] [--window 5] [--settle 1] [--cycles 5]

Target (issue 3): training with the page streaming runs at >= 0.85x the headless rate.

The app is the real one: this script starts itself with --serve in a subprocess, which imports
app.py (1 torch thread, the registry, build_app) and launches it on a free port, then answers
on its stdin/stdout "what step is each session at" (the trainer's own counter and the server's
clock, so no tick is needed to read it) and "pause/resume session K". A page opens, picks the
lesson and presses Start; its run is then measured in alternating windows of three modes:
- streaming: the page refreshes itself at 2 Hz (its gr.Timer), as in a classroom;
- unwatched: the same run in the app, nobody reading it. For the browser its JavaScript is
  paused through the Chrome DevTools protocol (Debugger.pause: no timer fires, so no tick reaches
  the server, while the page stays connected and the session alive); the gradio client just
  stops calling /tick;
- headless: the brief's baseline, a playground.Session of the same config in this process (no
  web server in it, 1 torch thread), started and nobody reading it; the app's run is paused
  meanwhile. Its worker renders snapshots every RENDER_EVERY_S like any session.
Windows of `--window` s, each after `--settle` s for in-flight ticks to finish, in cycles
S U H, H U S, S U H, ... after `--warmup` s of streaming. Fine interleaving is the point: other
developers' jobs on this 2-core machine come and go within seconds and hit all modes alike,
which separate runs minutes apart do not (a first version of this script, comparing whole runs
measured ~30 s apart, gave per-round ratios from 0.75 to 2.7 for the same config).

Rate = step count delta / wall time of the window. On a machine this loaded the wall rate mostly
says how often the trainer thread got a core, so a second rate leaves out the time the trainer
thread was runnable but waiting for a core (/proc/<pid>/task/<tid>/schedstat): what is left is
what the run itself costs, including the time it sleeps on the GIL while the server or the
tick holds it. Ratios are streaming / headless (the target), streaming / unwatched (the page's
own cost) and unwatched / headless (an idle Gradio server beside the run), over all windows and
per cycle.

Clients: `browser` is headless Chromium (/usr/bin/chromium, via Playwright; never `playwright
install`): it really renders the Plotly charts and downloads the sample images. `gradio` is a
gradio_client calling /tick at 2 Hz and fetching the sample image, without rendering.
CPU columns, in cores: the trainer thread, the rest of the server process (Gradio, the tick), the
page (Chromium + Playwright, or this process as the gradio client) and other processes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apputil import ROOT, CpuMeter, free_port  # noqa: E402

TARGET = 0.85
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
tick_period = [0.5]   # the page's gr.Timer (playground.ui.train_tab.TICK_S; the app says which)
PREFIX = "@@"         # the server's answers on stdout (Gradio may print there too)


def set_render_every(seconds: str | float | None) -> None:
    """What-if: another worker render cadence (playground.session.RENDER_EVERY_S) in this process."""
    if seconds:
        import playground.session
        playground.session.RENDER_EVERY_S = float(seconds)


# --- the server (child process) -------------------------------------------------------------
def serve() -> None:
    """Child: the real app.py on GRADIO_SERVER_PORT; answers each stdin line with the sessions' steps."""
    sys.path.insert(0, str(ROOT))
    set_render_every(os.environ.get("BENCH_RENDER_EVERY_S"))
    if os.environ.get("BENCH_TICK_S"):                   # what-if: another gr.Timer period
        import playground.ui.app
        import playground.ui.train_tab
        playground.ui.app.TICK_S = playground.ui.train_tab.TICK_S = float(os.environ["BENCH_TICK_S"])
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
        sessions = {}
        for key, session in list(registry._sessions.items()):
            trainer = session.trainer
            sessions[key] = {"step": trainer.step_count if trainer is not None else 0,
                             "running": session.running, "last_seen": session.last_seen}
        tids = [t.native_id for t in threading.enumerate() if t.name == "gan-trainer"]
        print(PREFIX, json.dumps({"t": time.monotonic(), "sessions": sessions, "tids": tids}), flush=True)
    app.demo.close()


class ServedApp:
    """The --serve child; `query()` -> {"t", "sessions": {hash: {step, running, last_seen}}, "tids"}."""

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
        self.popen = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=ROOT, env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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


# --- the page (two kinds) -------------------------------------------------------------------
class BrowserPage:
    """A Chromium page; off() pauses its JavaScript (no ticks), on() resumes it."""

    def __init__(self, browser, url: str, preset: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("request", self._count)
        self.requests = 0
        self.streaming = True
        self.page.goto(url)
        self.page.wait_for_selector("#status textarea")
        self._pick(preset)
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Debugger.enable")
        self.page.click("#start")

    def _count(self, request) -> None:
        if "/queue/join" in request.url:
            self.requests += 1

    def _pick(self, preset: str) -> None:
        from playground.config import get_preset

        if self.page.input_value("#preset input").endswith(f"({preset})"):
            return
        self.page.click("#preset input")
        self.page.get_by_role("option", name=f"({preset})").click()
        self.page.wait_for_function("t => document.querySelector('#lesson').innerText.includes(t)",
                                    arg=get_preset(preset).title)
        self.page.wait_for_timeout(1000)          # let the controls' change events settle

    def on(self) -> None:
        if not self.streaming:
            self.cdp.send("Debugger.resume")
            self.streaming = True

    def off(self) -> None:
        if self.streaming:
            self.cdp.send("Debugger.pause")
            self.streaming = False

    def wait(self, seconds: float) -> None:
        if self.streaming:
            self.page.wait_for_timeout(seconds * 1000)    # pumps Playwright's events meanwhile
        else:
            time.sleep(seconds)

    def close(self) -> None:
        self.on()
        self.page.click("#pause")
        self.page.wait_for_timeout(500)
        self.page.close()


class GradioPage:
    """A gradio_client ticking at 2 Hz while on (and fetching the sample image as a browser does)."""

    def __init__(self, url: str, preset: str):
        import httpx
        from gradio_client import Client

        from playground.config import get_preset
        from playground.ui.controls import values_from_config

        self.client = Client(url, verbose=False, download_files=False)
        self.http = httpx.Client(timeout=10)
        self.requests = 0
        self.streaming = True
        self.next_tick = time.perf_counter()
        self.latencies: list[float] = []
        assert self.client.predict(*values_from_config(get_preset(preset).config),
                                   api_name="/start") == "training"

    def on(self) -> None:
        self.streaming = True

    def off(self) -> None:
        self.streaming = False

    def wait(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while self.streaming and time.perf_counter() < end:
            self.next_tick = max(self.next_tick, time.perf_counter() - tick_period[0])
            time.sleep(max(0.0, min(self.next_tick, end) - time.perf_counter()))
            if time.perf_counter() >= end:
                break
            self.next_tick += tick_period[0]
            sent = time.perf_counter()
            out = self.client.predict(api_name="/tick")
            self.requests += 1
            image = out[6] if isinstance(out[6], dict) else {}
            url = image.get("url") or (image.get("value") or {}).get("url")
            if url:
                self.http.get(url).raise_for_status()
            self.latencies.append((time.perf_counter() - sent) * 1000)
        time.sleep(max(0.0, end - time.perf_counter()))

    def close(self) -> None:
        self.client.predict(api_name="/pause")
        self.client.close()
        self.http.close()


# --- the measurement ------------------------------------------------------------------------
def ratio_pairs(order: tuple[str, ...]) -> list[tuple[str, str]]:
    alt = [m for m in order if "@" in m]
    return ([("streaming", "headless")] + [(m, "headless") for m in alt] + [("streaming", "unwatched")]
            + [(m, "unwatched") for m in alt] + [("unwatched", "headless")])


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


class LocalRun:
    """The headless run: a Session of the same config in this process, no web server involved."""

    def __init__(self, preset: str):
        from playground.config import get_preset
        from playground.session import Session

        self.session = Session(get_preset(preset).config)

    def start(self) -> None:
        self.session.start()

    def pause(self) -> None:
        self.session.pause()

    def state(self) -> tuple[float, int, int | None]:
        thread = self.session._thread
        return (time.monotonic(), self.session.trainer.step_count,
                thread.native_id if thread is not None else None)


def modes(args) -> tuple[str, ...]:
    """The measured modes; --alt-render-every X adds "streaming@X" (the app renders every X s)."""
    alt = (f"streaming@{args.alt_render_every:g}",) if args.alt_render_every else ()
    return ("streaming",) + alt + ("unwatched", "headless")


def measure(app: ServedApp, page, local: LocalRun, args) -> list[dict]:
    """Windows of all modes in cycles S U H, H U S, ... (each cycle mirrors the last)."""
    run = AppRun(app, running_session(app))
    order = modes(args)
    local.start()                      # build it and take its first steps while the page warms up
    time.sleep(1.0)
    local.pause()
    page.on()
    page.wait(args.warmup)
    paused, windows = False, []
    for cycle in range(args.cycles):
        for mode in (order if cycle % 2 == 0 else order[::-1]):
            if args.alt_render_every:
                app.query(f"render {args.alt_render_every if '@' in mode else app.render_every}")
            if mode == "headless":
                page.off()
                run.state("pause")
                paused = True
                local.start()
            elif paused:
                local.pause()
                run.state("start")
                paused = False
            page.on() if mode.startswith("streaming") else page.off()
            page.wait(args.settle)
            requests = page.requests
            if mode == "headless":
                t0, s0, tid = local.state()
                pid = os.getpid()
            else:
                t0, s0, tid, _ = run.state()
                pid = app.process.pid
            with CpuMeter(server=app.process, trainer=(pid, tid)) as cpu:
                page.wait(args.window)
                if mode == "headless":
                    t1, s1, _ = local.state()
                    ticked = False
                else:
                    t1, s1, _, seen = run.state()
                    ticked = seen > t0
            seconds = t1 - t0
            # the wall time minus the time the trainer thread waited for a core (other processes)
            unqueued = seconds * (1 - cpu.cores["trainer_queued"])
            windows.append({"mode": mode, "cycle": cycle, "steps": s1 - s0, "seconds": seconds,
                            "unqueued": unqueued, "rate": (s1 - s0) / seconds,
                            "free_rate": (s1 - s0) / unqueued, "events": page.requests - requests,
                            "ticked": ticked, **cpu.cores})
    if paused:
        local.pause()
        run.state("start")
    local.session.stop()
    return windows


def summarize(preset: str, windows: list[dict], order: tuple[str, ...]) -> dict:
    out = {"preset": preset, "modes": order}
    for mode in order:
        mine = [w for w in windows if w["mode"] == mode]
        seconds = sum(w["seconds"] for w in mine)
        steps = sum(w["steps"] for w in mine)
        out[mode] = {
            "windows": len(mine), "steps": steps, "seconds": seconds, "rate": steps / seconds,
            "per_cpu_s": steps / max(1e-9, sum(w["trainer_cpu_s"] for w in mine)),
            "free_rate": steps / sum(w["unqueued"] for w in mine),
            "events": sum(w["events"] for w in mine) / seconds,
            "ticked": sum(w["ticked"] for w in mine),
            **{k: statistics.mean(w[k] for w in mine)
               for k in ("trainer", "server_rest", "page", "own", "others",
                         "trainer_run", "trainer_queued", "trainer_blocked")}}
    cycles = sorted({w["cycle"] for w in windows})

    def per_cycle(key: str, top: str, bottom: str) -> list[float]:
        return [next(w[key] for w in windows if w["cycle"] == c and w["mode"] == top)
                / next(w[key] for w in windows if w["cycle"] == c and w["mode"] == bottom) for c in cycles]

    for top, bottom in ratio_pairs(order):
        name = f"{top}/{bottom}"
        out[name] = {"rate": out[top]["rate"] / out[bottom]["rate"],
                     "free": out[top]["free_rate"] / out[bottom]["free_rate"],
                     "cpu": out[top]["per_cpu_s"] / out[bottom]["per_cpu_s"],
                     "rate_cycles": per_cycle("rate", top, bottom),
                     "free_cycles": per_cycle("free_rate", top, bottom)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=["browser", "gradio"],
                        default="browser" if Path(CHROMIUM).exists() else "gradio")
    parser.add_argument("--presets", nargs="+", default=["ring_stable", "digits_dcgan"])
    parser.add_argument("--warmup", type=float, default=5.0, help="s of streaming before the first window")
    parser.add_argument("--window", type=float, default=5.0, help="s per measured window")
    parser.add_argument("--settle", type=float, default=1.0, help="s after each switch, not measured")
    parser.add_argument("--render-every", type=float, default=None,
                        help="what-if: override playground.session.RENDER_EVERY_S (both sides)")
    parser.add_argument("--tick-every", type=float, default=None,
                        help="what-if: override the page's gr.Timer period (train_tab.TICK_S)")
    parser.add_argument("--alt-render-every", type=float, default=None,
                        help="what-if: add windows streaming with RENDER_EVERY_S = this, in the same run")
    parser.add_argument("--cycles", type=int, default=5, help="cycles of the modes (S U H, H U S, ...)")
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0

    import torch

    from benchutil import machine_line

    torch.set_num_threads(1)             # as app.py does (this process trains the headless run)
    set_render_every(args.render_every)
    import playground.session
    print(machine_line())
    local_cadence = playground.session.RENDER_EVERY_S
    print(f"client {args.client}; per preset: {args.warmup:g} s warm-up, then {args.cycles} cycles of "
          f"{args.window:g} s windows (S U H, H U S, ...), {args.settle:g} s settle after each switch")
    results = []
    with ServedApp(render_every=args.render_every, tick_s=args.tick_every) as app:
        print(f"worker render cadence RENDER_EVERY_S: {app.render_every:g} s in the app, "
              f"{local_cadence:g} s in the headless run; page tick (gr.Timer) every {app.tick_s:g} s")
        tick_period[0] = app.tick_s
        playwright = browser = None
        if args.client == "browser":
            from playwright.sync_api import sync_playwright
            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for preset in args.presets:
                page = BrowserPage(browser, app.url, preset) if browser else GradioPage(app.url, preset)
                try:
                    windows = measure(app, page, LocalRun(preset), args)
                finally:
                    page.close()
                    time.sleep(1.5)                  # the run pauses; a closed page's session closes
                for w in windows:
                    print(f"  {preset:13s} cycle {w['cycle']} {w['mode']:9s}: {w['rate']:6.1f} steps/s, without "
                          f"waits {w['free_rate']:6.1f}; cores: trainer {w['trainer']:.2f}, server "
                          f"{w['server_rest']:.2f}, page {w['page'] + (w['own'] if w['mode'] != 'headless' else 0):.2f}, "
                          f"others {w['others']:.2f}; trainer run/queued/blocked {w['trainer_run']:.2f}/"
                          f"{w['trainer_queued']:.2f}/{w['trainer_blocked']:.2f}; events {w['events']}", flush=True)
                results.append(summarize(preset, windows, modes(args)))
                if isinstance(page, GradioPage) and page.latencies:
                    results[-1]["latency"] = statistics.median(page.latencies)
        finally:
            if browser is not None:
                browser.close()
                playwright.stop()

    print()
    print(f"| preset | mode ({args.client}) | windows × s | steps/s | steps/s without waits for a core | "
          f"steps per trainer CPU-s | trainer thread: on a core / waiting for a core / asleep (GIL) | "
          f"cores: server (rest) | page | other processes | tick events/s |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        for mode in r["modes"][::-1]:
            m = r[mode]
            page_cores = m["page"] + (m["own"] if mode != "headless" else 0.0)
            print(f"| {r['preset']} | {mode} | {m['windows']} × {m['seconds'] / m['windows']:.1f} | "
                  f"{m['rate']:.1f} | {m['free_rate']:.1f} | {m['per_cpu_s']:.1f} | "
                  f"{m['trainer_run']:.0%} / {m['trainer_queued']:.0%} / {m['trainer_blocked']:.0%} | "
                  f"{m['server_rest']:.2f} | {page_cores:.2f} | {m['others']:.2f} | {m['events']:.1f} |")
    print()
    print("| preset | ratio | steps/s (wall) | per cycle | without waits for a core | per cycle | "
          "per trainer CPU-s |")
    print("|---|---|---:|---|---:|---|---:|")
    worst = float("inf")
    for r in results:
        for name in (f"{top}/{bottom}" for top, bottom in ratio_pairs(r["modes"])):
            x = r[name]
            bold = "**" if name.endswith("/headless") and name.startswith("streaming") else ""
            print(f"| {r['preset']} | {name} | {bold}{x['rate']:.2f}{bold} | "
                  f"{', '.join(f'{v:.2f}' for v in x['rate_cycles'])} | {bold}{x['free']:.2f}{bold} | "
                  f"{', '.join(f'{v:.2f}' for v in x['free_cycles'])} | {x['cpu']:.2f} |")
        worst = min(worst, r["streaming/headless"]["rate"])
    print()
    for r in results:
        for top in (m for m in r["modes"] if m.startswith("streaming")):
            x = r[f"{top}/headless"]
            print(f"{r['preset']}: {top} / headless = {x['rate']:.2f} wall "
                  f"({'met' if x['rate'] >= TARGET else 'MISSED'}), {x['free']:.2f} without waits for a core "
                  f"({'met' if x['free'] >= TARGET else 'MISSED'}); target >= {TARGET}")
    for r in results:
        if "latency" in r:
            print(f"{r['preset']}: gradio_client tick round trip (incl. image download) median {r['latency']:.0f} ms")
    if any(r["unwatched"]["ticked"] for r in results):
        print("WARNING: a tick reached the server during an unwatched window")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
