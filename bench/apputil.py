"""Helpers for the app benchmarks (page_rate, tick_cost, long_run_rss): a CPU meter that splits
the machine's busy time by process and thread, RSS, and the size of what a tick sends to the
browser.
"""
from __future__ import annotations

import io
import json
import socket
import time
from math import nan
from pathlib import Path

import psutil

from benchutil import ROOT, _busy_seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


class CpuMeter:
    """Cores used during a block, split: this process, the app server, the page (every other
    descendant of this process: Playwright's driver and Chromium), everybody else; and how the
    trainer thread spent the block's wall time (from the kernel's per-thread schedstat).

        with CpuMeter(server=app_process, trainer=(pid, tid)) as cpu: ...
        cpu.cores -> {"own", "server", "page", "others", "machine", "trainer", "server_rest": cores,
                      "trainer_cpu_s": the trainer thread's CPU seconds,
                      "trainer_run" / "_queued" / "_blocked": shares of the wall time it spent
                      on a core / runnable but waiting for a core / asleep (the GIL, a lock)}
    """

    def __init__(self, server: psutil.Process | None = None, trainer: tuple[int, int] | None = None):
        self.server = server
        self.trainer = trainer
        self.cores: dict[str, float] = {}

    def _page_processes(self) -> dict[int, psutil.Process]:
        me = psutil.Process()
        skip = {self.server.pid} if self.server is not None else set()
        return {p.pid: p for p in me.children(recursive=True) if p.pid not in skip}

    def __enter__(self) -> "CpuMeter":
        self._wall, self._busy, self._own = time.perf_counter(), _busy_seconds(), time.process_time()
        self._server = _cpu(self.server) if self.server is not None else 0.0
        self._sched = _schedstat(self.trainer)
        self._page = {pid: _cpu(p) for pid, p in self._page_processes().items()}
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.perf_counter() - self._wall, 1e-9)
        busy = _busy_seconds()
        own = time.process_time() - self._own
        server = (_cpu(self.server) - self._server) if self.server is not None else 0.0
        page = sum(_cpu(p) - self._page.get(pid, 0.0) for pid, p in self._page_processes().items())
        sched = _schedstat(self.trainer)
        run, queued = (sched[0] - self._sched[0], sched[1] - self._sched[1]) if sched and self._sched else (nan, nan)
        in_server = self.trainer is not None and self.server is not None and self.trainer[0] == self.server.pid
        machine = (busy - self._busy) if busy is not None and self._busy is not None else nan
        self.cores = {"own": own / wall, "server": server / wall, "page": page / wall,
                      "machine": machine / wall,
                      "others": max(0.0, machine - own - server - page) / wall,
                      "trainer": run / wall,
                      "server_rest": max(0.0, server - (run if in_server else 0.0)) / wall,
                      "trainer_cpu_s": run,
                      "trainer_run": run / wall,
                      "trainer_queued": queued / wall,
                      "trainer_blocked": 1 - (run + queued) / wall,
                      "wall": wall}


def _schedstat(thread: tuple[int, int] | None) -> tuple[float, float] | None:
    """(seconds on a core, seconds runnable but waiting for one) of thread (pid, tid)."""
    if thread is None or thread[1] is None:
        return None
    try:
        run_ns, wait_ns, _ = Path(f"/proc/{thread[0]}/task/{thread[1]}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def rss_mb(process: psutil.Process | None = None) -> float:
    return (process or psutil.Process()).memory_info().rss / 2**20


def payload_bytes(outputs: dict, skip_names: tuple[str, ...] = ("sent",)) -> dict[str, int]:
    """Bytes each tick output costs the browser, after Gradio's postprocessing.

    A Plotly figure travels as its to_json() (gr.Plot.postprocess); a PIL image is written to
    a PNG file the browser then downloads (its file size, plus ~200 bytes of file reference);
    text travels as a JSON string; a gr.skip() as {"__type__": "update"}. gr.State ("sent")
    stays on the server.
    """
    import plotly.graph_objects as go
    from PIL import Image

    sizes = {}
    for name, value in outputs.items():
        if name in skip_names:
            continue
        inner = value.get("value") if isinstance(value, dict) else value
        extra = len(json.dumps({k: v for k, v in value.items() if k != "value"})) if isinstance(value, dict) else 0
        if isinstance(inner, go.Figure):
            sizes[name] = len(inner.to_json()) + extra
        elif isinstance(inner, Image.Image):
            buffer = io.BytesIO()
            inner.save(buffer, format="png")
            sizes[name] = buffer.tell() + 200 + extra
        elif isinstance(inner, str):
            sizes[name] = len(json.dumps(inner)) + extra
        else:
            sizes[name] = len(json.dumps(value, default=str))
    return sizes


__all__ = ["CpuMeter", "free_port", "rss_mb", "payload_bytes", "ROOT"]
