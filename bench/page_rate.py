"""Does watching a run slow it down? Steps/s with the page streaming vs the same config headless.

    .venv/bin/python -m bench page_rate [--client browser|gradio] [--presets ring_stable digits_dcgan]
                                        [--warmup 5] [--window 5] [--settle 1] [--cycles 5] [--quick]

Target (issue 3): training with the page streaming runs at >= 0.85x the headless rate.

--quick: ring_stable only, 1 s warm-up, one cycle of 2-s windows (a smoke test of the script).

The app is the real one, in a child process (bench/page_app.py: app.py on a free port, which
answers "what step is each session at" and "pause/resume session K" on its stdin/stdout). A page
(bench/page_clients.py) opens, picks the lesson and presses Start; its run is then measured in
alternating windows of three modes:
- streaming: the page refreshes itself (its gr.Timer, once a second), as in a classroom;
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

Clients: `browser` is headless Chromium, which really renders the page; `gradio` is a
gradio_client calling /tick at the page's cadence without rendering (page_clients.py).
CPU columns, in cores: the trainer thread, the rest of the server process (Gradio, the tick), the
page (Chromium + Playwright, or this process as the gradio client) and other processes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench.common import CpuMeter, chromium_available, launch_chromium, machine_line, trainer_thread_ids
from bench.page_app import AppRun, ServedApp, running_session, set_render_every
from bench.page_clients import BrowserPage, GradioPage

TARGET = 0.85


# --- the headless baseline ------------------------------------------------------------------
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
        """(clock, step, the trainer thread's id): the app runs elsewhere, so this process's one
        "gan-trainer" thread is this session's."""
        run = self.session.run
        return (time.monotonic(), run.step_count if run is not None else 0,
                (trainer_thread_ids() or [None])[0])


# --- the measurement ------------------------------------------------------------------------
def ratio_pairs(order: tuple[str, ...]) -> list[tuple[str, str]]:
    alt = [m for m in order if "@" in m]
    return ([("streaming", "headless")] + [(m, "headless") for m in alt] + [("streaming", "unwatched")]
            + [(m, "unwatched") for m in alt] + [("unwatched", "headless")])



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
                if (own := run.run_pid()) is not None:     # the served app: the run's own process
                    pid, tid = own, None
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


def parse(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=["browser", "gradio"],
                        default="browser" if chromium_available() else "gradio")
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
    parser.add_argument("--quick", action="store_true",
                        help="ring_stable, 1 s warm-up, one cycle of 2-s windows (a smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.warmup, args.window, args.settle, args.cycles = ["ring_stable"], 1.0, 2.0, 0.5, 1
    return args


def print_window(preset: str, w: dict) -> None:
    page = w["page"] + (w["own"] if w["mode"] != "headless" else 0)
    print(f"  {preset:13s} cycle {w['cycle']} {w['mode']:9s}: {w['rate']:6.1f} steps/s, without "
          f"waits {w['free_rate']:6.1f}; cores: trainer {w['trainer']:.2f}, server "
          f"{w['server_rest']:.2f}, page {page:.2f}, others {w['others']:.2f}; trainer "
          f"run/queued/blocked {w['trainer_run']:.2f}/{w['trainer_queued']:.2f}/"
          f"{w['trainer_blocked']:.2f}; events {w['events']}", flush=True)


def run_presets(app: ServedApp, args) -> list[dict]:
    """Every preset's windows with one page client; the summaries."""
    results = []
    playwright = browser = None
    if args.client == "browser":
        from playwright.sync_api import sync_playwright
        playwright = sync_playwright().start()
        browser = launch_chromium(playwright)
    try:
        for preset in args.presets:
            page = (BrowserPage(browser, app.url, preset) if browser
                    else GradioPage(app.url, preset, app.tick_s))
            try:
                windows = measure(app, page, LocalRun(preset), args)
            finally:
                page.close()
                time.sleep(1.5)                  # the run pauses; a closed page's session closes
            for w in windows:
                print_window(preset, w)
            results.append(summarize(preset, windows, modes(args)))
            if isinstance(page, GradioPage) and page.latencies:
                results[-1]["latency"] = statistics.median(page.latencies)
    finally:
        if browser is not None:
            browser.close()
            playwright.stop()
    return results


def print_modes(results: list[dict], client: str) -> None:
    print(f"\n| preset | mode ({client}) | windows × s | steps/s | steps/s without waits for a core | "
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


def print_ratios(results: list[dict]) -> float:
    """The ratio table and the verdicts; returns the worst streaming / headless wall ratio."""
    print("\n| preset | ratio | steps/s (wall) | per cycle | without waits for a core | per cycle | "
          "per trainer CPU-s |")
    print("|---|---|---:|---|---:|---|---:|")
    for r in results:
        for name in (f"{top}/{bottom}" for top, bottom in ratio_pairs(r["modes"])):
            x = r[name]
            bold = "**" if name.endswith("/headless") and name.startswith("streaming") else ""
            print(f"| {r['preset']} | {name} | {bold}{x['rate']:.2f}{bold} | "
                  f"{', '.join(f'{v:.2f}' for v in x['rate_cycles'])} | {bold}{x['free']:.2f}{bold} | "
                  f"{', '.join(f'{v:.2f}' for v in x['free_cycles'])} | {x['cpu']:.2f} |")
    print()
    for r in results:
        for top in (m for m in r["modes"] if m.startswith("streaming")):
            x = r[f"{top}/headless"]
            print(f"{r['preset']}: {top} / headless = {x['rate']:.2f} wall "
                  f"({'met' if x['rate'] >= TARGET else 'MISSED'}), {x['free']:.2f} without waits for a core "
                  f"({'met' if x['free'] >= TARGET else 'MISSED'}); target >= {TARGET}")
        if "latency" in r:
            print(f"{r['preset']}: gradio_client tick round trip median {r['latency']:.0f} ms")
    if any(r["unwatched"]["ticked"] for r in results):
        print("WARNING: a tick reached the server during an unwatched window")
    return min(r["streaming/headless"]["rate"] for r in results)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    import playground.session

    torch.set_num_threads(1)             # as app.py does (this process trains the headless run)
    set_render_every(args.render_every)
    print(machine_line())
    print(f"client {args.client}; per preset: {args.warmup:g} s warm-up, then {args.cycles} cycles of "
          f"{args.window:g} s windows (S U H, H U S, ...), {args.settle:g} s settle after each switch")
    with ServedApp(render_every=args.render_every, tick_s=args.tick_every) as app:
        print(f"worker render cadence RENDER_EVERY_S: {app.render_every:g} s in the app, "
              f"{playground.session.RENDER_EVERY_S:g} s in the headless run; page tick (gr.Timer) "
              f"every {app.tick_s:g} s")
        results = run_presets(app, args)
    print_modes(results, args.client)
    worst = print_ratios(results)
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
