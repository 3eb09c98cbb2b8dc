"""The one helper module shared by the benchmarks and the tests (`from bench.common import ...`).

Sections, in order:
- the checkout and the machine: ROOT, machine_line() (cores, CPU, torch, load);
- the benchmark workloads: two networks spelled out as configs (not read from presets/*.json,
  which are tuned from time to time), so a throughput figure always means the same networks;
- timing: rates over a number of steps or a number of seconds, medians, spreads;
- other load and CPU accounting: how busy the rest of the machine was, a core burner, a meter
  that splits CPU time by process and thread, RSS;
- threads, ports and waiting: free_port(), trainer_threads(), wait_until();
- the app served in-process: serve(registry), the bytes a tick sends, gradio_client arguments;
- Chromium: Debian's /usr/bin/chromium driven by Playwright (`playwright install` is never
  needed or run).

Timing rule of the benchmarks: compare things *inside one process, interleaved* (A, B, A, B...)
and report medians and ratios. Other developers' jobs may run on the same 2 cores at the same
time; a slow spell then hits A and B alike and the ratio survives it, while an absolute
steps/s from one run does not.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from math import nan
from pathlib import Path
from typing import Callable, Iterator

from playground.config import TrainConfig

# --- the checkout and the machine --------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_line() -> str:
    """One line: cores, CPU model, torch version, threads, load."""
    import torch

    return (f"nproc {len(os.sched_getaffinity(0))} · CPU {cpu_model()} · torch {torch.__version__} · "
            f"torch threads {torch.get_num_threads()} · load average {load_average()}")


# --- the benchmark workloads -------------------------------------------------------------------
RING_MLP = TrainConfig(dataset="ring", arch="mlp", width=128, depth=3, batch_size=256, z_dim=8,
                       d_steps=1, g_steps=1, lr_d=1e-3, lr_g=1e-3, device="cpu")
DIGITS_DCGAN = TrainConfig(dataset="digits", arch="dcgan", image_size=16, width=32, batch_size=64,
                           z_dim=32, d_steps=1, g_steps=1, lr_d=2e-4, lr_g=2e-4, device="cpu")
WORKLOADS = {"ring MLP 3x128 b256": RING_MLP, "digits DCGAN 16x16 w32 b64": DIGITS_DCGAN}


# --- timing --------------------------------------------------------------------------------------
def timed_rates(step: Callable[[], object], steps: int) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second of this process) over `steps` calls.

    CPU time stops while the process waits for a core, so with one torch thread the second
    figure is close to what the step would do on an idle machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return steps / wall, steps / max(cpu, 1e-9)


def timed_rate(step: Callable[[], object], steps: int) -> float:
    """Steps per wall second of `steps` calls of `step`."""
    return timed_rates(step, steps)[0]


def rate_for(step: Callable[[], object], seconds: float, min_steps: int = 3) -> float:
    """Steps per second, running `step` for about `seconds` (at least `min_steps` calls).

    Time-bounded rather than step-bounded, so a pathological slow case (10-100x under CPU
    competition) cannot blow the benchmark's time budget.
    """
    started = time.perf_counter()
    done = 0
    while True:
        step()
        done += 1
        elapsed = time.perf_counter() - started
        if done >= min_steps and elapsed >= seconds:
            return done / elapsed


def steps_for(rate: float, seconds: float, low: int = 5) -> int:
    """How many steps take about `seconds` at `rate` steps/s."""
    return max(low, int(rate * seconds))


def median(values) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def spread(values: list[float]) -> str:
    """min..max of a list, as text (shows how noisy the rounds were)."""
    return f"{min(values):.1f}..{max(values):.1f}"


# --- other load and CPU accounting -------------------------------------------------------------
def busy_seconds() -> float | None:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)          # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")       # user..steal, no guest


class OtherLoad:
    """How many cores *other* processes kept busy while the block ran.

        with OtherLoad() as load: ...
        load.cores   # e.g. 1.3: other processes used 1.3 cores on average

    Machine-wide busy time (/proc/stat) minus this process's own CPU time. A subprocess this
    benchmark started (the core burner) counts as "other".
    """

    def __enter__(self) -> "OtherLoad":
        self.cores = nan
        self._busy, self._own, self._wall = busy_seconds(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        busy = busy_seconds()
        wall = time.perf_counter() - self._wall
        if busy is not None and self._busy is not None and wall > 0:
            own = time.process_time() - self._own
            self.cores = max(0.0, (busy - self._busy - own) / wall)


BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


class CoreBurner:
    """A second Python process spinning on one core (a stand-in for the web server or a second
    visitor). The process also ends by itself after `seconds`, so a crashed benchmark never
    leaves it behind."""

    def __init__(self, seconds: float = 600):
        self.seconds = seconds
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "CoreBurner":
        self.process = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=self.seconds)])
        time.sleep(0.3)          # let it start spinning
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()          # only the process this object started
            self.process.wait(timeout=10)


def _cpu(process) -> float:
    import psutil

    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def schedstat(thread: tuple[int, int | None] | None) -> tuple[float, float] | None:
    """(seconds on a core, seconds runnable but waiting for one) of thread (pid, tid); with
    tid None, of every thread of process pid summed (a run in its own process: its trainer
    thread and the snapshot pusher, which takes ~1 % of it)."""
    if thread is None or thread[0] is None:
        return None
    pid, tid = thread
    folder = Path(f"/proc/{pid}/task")
    tasks = [folder / str(tid)] if tid is not None else list(folder.glob("*"))
    run = wait = 0.0
    try:
        for task in tasks:
            run_ns, wait_ns, _ = (task / "schedstat").read_text().split()
            run, wait = run + int(run_ns) / 1e9, wait + int(wait_ns) / 1e9
    except (OSError, ValueError):
        return None
    return (run, wait) if tasks else None


class CpuMeter:
    """Cores used during a block, split: this process, the app server, the page (every other
    descendant of this process: Playwright's driver and Chromium), everybody else; and how the
    trainer thread (pid, tid) spent the block's wall time (the kernel's per-thread schedstat).

        with CpuMeter(server=app_process, trainer=(pid, tid)) as cpu: ...
        cpu.cores -> {"own", "server", "page", "others", "machine", "trainer", "server_rest",
                      "trainer_cpu_s", "trainer_run" / "_queued" / "_blocked": shares of the wall
                      time on a core / runnable but waiting for a core / asleep (GIL, a lock)}
    """

    def __init__(self, server=None, trainer: tuple[int, int | None] | None = None):
        self.server = server                      # a psutil.Process, or None
        self.trainer = trainer
        self.cores: dict[str, float] = {}

    def _page_processes(self) -> dict:
        import psutil

        skip = {self.server.pid} if self.server is not None else set()
        return {p.pid: p for p in psutil.Process().children(recursive=True) if p.pid not in skip}

    def __enter__(self) -> "CpuMeter":
        self._wall, self._busy, self._own = time.perf_counter(), busy_seconds(), time.process_time()
        self._server = _cpu(self.server) if self.server is not None else 0.0
        self._sched = schedstat(self.trainer)
        self._page = {pid: _cpu(p) for pid, p in self._page_processes().items()}
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.perf_counter() - self._wall, 1e-9)
        busy = busy_seconds()
        own = time.process_time() - self._own
        server = (_cpu(self.server) - self._server) if self.server is not None else 0.0
        page = sum(_cpu(p) - self._page.get(pid, 0.0) for pid, p in self._page_processes().items())
        sched = schedstat(self.trainer)
        run, queued = ((sched[0] - self._sched[0], sched[1] - self._sched[1])
                       if sched and self._sched else (nan, nan))
        in_server = self.trainer is not None and self.server is not None and self.trainer[0] == self.server.pid
        machine = (busy - self._busy) if busy is not None and self._busy is not None else nan
        self.cores = {"own": own / wall, "server": server / wall, "page": page / wall,
                      "machine": machine / wall,
                      "others": max(0.0, machine - own - server - page) / wall,
                      "trainer": run / wall,
                      "server_rest": max(0.0, server - (run if in_server else 0.0)) / wall,
                      "trainer_cpu_s": run, "trainer_run": run / wall,
                      "trainer_queued": queued / wall,
                      "trainer_blocked": 1 - (run + queued) / wall, "wall": wall}


def rss_mb(process=None) -> float:
    import psutil

    return (process or psutil.Process()).memory_info().rss / 2**20


# --- threads, ports and waiting ------------------------------------------------------------------
TRAINER_THREAD = "gan-trainer"          # the name Session gives its worker thread


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def trainer_threads() -> int:
    """How many Session worker threads this process has right now."""
    return sum(1 for t in threading.enumerate() if t.name == TRAINER_THREAD)


def trainer_thread_ids() -> list[int]:
    """The kernel thread ids of this process's Session workers (for CpuMeter / schedstat)."""
    return [t.native_id for t in threading.enumerate() if t.name == TRAINER_THREAD]


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, every_s: float = 0.1):
    """Poll `condition` until it is truthy (and return it); fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(every_s)


# --- the app served in-process -----------------------------------------------------------------
HEARTBEAT_S = "0.3"          # a closed tab is noticed (and demo.unload fires) within ~a second


@contextlib.contextmanager
def serve(registry, heartbeat_s: str = HEARTBEAT_S) -> Iterator[str]:
    """The real app (build_app with the caller's SessionRegistry, so the caller can look at its
    sessions and threads) on 127.0.0.1:<free port>, heartbeat shortened; yields its URL."""
    from playground.ui.app import build_app

    saved = {k: os.environ.get(k) for k in ("GRADIO_HEARTBEAT_INTERVAL", "GRADIO_ANALYTICS_ENABLED")}
    # Gradio reads the heartbeat interval per connection, so setting it before launch suffices.
    os.environ["GRADIO_HEARTBEAT_INTERVAL"] = heartbeat_s
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(registry)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def payload_bytes(outputs: dict, skip_names: tuple[str, ...] = ("sent",)) -> dict[str, int]:
    """Bytes each tick output costs the browser, after Gradio's postprocessing: a Plotly figure
    travels as its to_json(), a PIL image as a PNG file (+ ~200 bytes of reference), text as a
    JSON string, a gr.update as its JSON. gr.State ("sent") stays on the server."""
    import plotly.graph_objects as go
    from PIL import Image

    sizes = {}
    for name, value in outputs.items():
        if name in skip_names:
            continue
        inner = value.get("value") if isinstance(value, dict) else value
        extra = (len(json.dumps({k: v for k, v in value.items() if k != "value"}, default=str))
                 if isinstance(value, dict) else 0)
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


def control_args(client, api_name: str, config: TrainConfig) -> list:
    """Positional arguments of a controls endpoint (/start, /update, /step...) for gradio_client.

    The page binds the controls as a set of components (ui/page.py), so the API takes them in
    Gradio's order, not the controls table's; each parameter carries its control's label."""
    from playground.ui.controls import LABELS, values_from_config

    by_label = {label: key for key, label in LABELS.items()}
    values = values_from_config(config)
    info = client.view_api(return_format="dict", print_info=False)
    return [values[by_label[p["label"]]] for p in info["named_endpoints"][api_name]["parameters"]]


# --- Chromium -------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def launch_chromium(playwright):
    """Headless Debian Chromium through Playwright's sync API (no downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
