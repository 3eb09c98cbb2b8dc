"""Small helpers shared by the benchmark scripts: configs, timing, a CPU burner, machine facts.

Timing rule of these scripts: compare things *inside one process, interleaved* (A, B, A, B...)
and report medians and ratios. Other developers' tests may run on the same machine at the same
time; a slow spell then hits A and B alike and the ratio survives it, while an absolute
steps/s from one run does not.
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from playground.config import TrainConfig  # noqa: E402

# The two workloads of the throughput benchmarks, spelled out (not read from presets/*.json,
# which are being tuned): the same networks whatever a lesson currently says.
RING_MLP = TrainConfig(dataset="ring", arch="mlp", width=128, depth=3, batch_size=256, z_dim=8,
                       d_steps=1, g_steps=1, lr_d=1e-3, lr_g=1e-3, device="cpu")
DIGITS_DCGAN = TrainConfig(dataset="digits", arch="dcgan", image_size=16, width=32, batch_size=64,
                           z_dim=32, d_steps=1, g_steps=1, lr_d=2e-4, lr_g=2e-4, device="cpu")
WORKLOADS = {"ring MLP 3x128 b256": RING_MLP, "digits DCGAN 16x16 w32 b64": DIGITS_DCGAN}


def timed_rate(step: Callable[[], object], steps: int) -> float:
    """Steps per second of `steps` calls of `step` (wall clock)."""
    return timed_rates(step, steps)[0]


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


def rate_for(step: Callable[[], object], seconds: float, min_steps: int = 3) -> float:
    """Steps per second, running `step` for about `seconds` (at least `min_steps` calls).

    Time-bounded rather than step-bounded, so a pathological slow case (10-20x under CPU
    competition) cannot blow the script's time budget.
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


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """min..max of a list, as text (shows how noisy the rounds were)."""
    return f"{min(values):.1f}..{max(values):.1f}"


BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


class CoreBurner:
    """A second Python process spinning on one core (a stand-in for the web server or a second user).

    Used as a context manager; the process also ends by itself after `seconds`, so a crashed
    benchmark never leaves it behind.
    """

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
    return (f"nproc {len(os.sched_getaffinity(0))} · CPU {cpu_model()} · torch {torch.__version__} · "
            f"torch threads {torch.get_num_threads()} · load average {load_average()}")


def _busy_seconds() -> float | None:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)          # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")       # user..steal, no guest


class OtherLoad:
    """Measures how many cores *other* processes kept busy while the block ran.

        with OtherLoad() as load: ...
        load.cores   # e.g. 1.3: other processes used 1.3 cores on average

    Machine-wide busy time (/proc/stat) minus this process's own CPU time. A subprocess this
    script started (the core burner) counts as "other".
    """

    def __enter__(self) -> "OtherLoad":
        self.cores = float("nan")
        self._busy, self._own, self._wall = _busy_seconds(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        busy = _busy_seconds()
        wall = time.perf_counter() - self._wall
        if busy is not None and self._busy is not None and wall > 0:
            own = time.process_time() - self._own
            self.cores = max(0.0, (busy - self._busy - own) / wall)
