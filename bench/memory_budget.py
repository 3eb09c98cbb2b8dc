"""Does budget.estimate_bytes cover what a run really allocates? Peak RSS vs estimate, per config.

    .venv/bin/python -m bench memory_budget [--steps 2] [--only TEXT]

For each of ~24 admitted configs spanning the caps (MLP and DCGAN, point data and the offline
digits at image sizes 16..64, widths up to the largest the budget admits, batch 1..1024,
spectral norm on and off, WGAN-GP and R1 penalties; the issue's digits DCGAN 64x64 width 64
batch 1 among them) a FRESH subprocess imports the project, loads the digit classifier (cached
once per machine, not part of a run), makes a tiny warm-up run of the same kind (a server is
a warm process: PyTorch's kernel code is paged in already), reads its RSS as the baseline, then
does what a run does:
builds a Trainer, runs a few steps, renders (trainer.sample of the page's grid, the D field of
point data) and evaluates (trainer.sample(2000) and metrics.evaluate against 2000 real
samples). A thread samples RSS every millisecond and ru_maxrss catches what falls between.

Pass: peak RSS growth <= 1.5 x estimate + 150 MB (the margin holds the data set, allocator
slack and PyTorch's per-op workspaces). Exit status 1 if any config fails or is refused.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from playground.budget import MAX_RUN_BYTES, check_budget, estimate_bytes
from playground.config import ConfigError, TrainConfig

ROOT = Path(__file__).resolve().parent.parent
FACTOR, MARGIN = 1.5, 150 * 2**20
MB = 2**20
CHILD_TIMEOUT_S = 900


def _shape(config: TrainConfig) -> tuple[int, ...]:
    """The data shape of `config` without building its data set (digits: one channel)."""
    return (1, config.image_size, config.image_size) if config.is_image else (2,)


def _admitted(config: TrainConfig) -> bool:
    try:
        check_budget(config, _shape(config))
    except ConfigError:
        return False
    return True


def _largest(config: TrainConfig, key: str, values: list[int]) -> TrainConfig:
    """`config` with the largest of `values` for `key` that the budget admits."""
    for value in sorted(values, reverse=True):
        candidate = config.replace(**{key: value})
        if _admitted(candidate):
            return candidate
    raise SystemExit(f"no admitted {key} among {values} for {config.diff()}")


def configs() -> list[tuple[str, TrainConfig]]:
    """(label, config) pairs; the 'largest' ones are searched with the budget itself."""
    cpu = dict(device="cpu", seed=0)
    ring = TrainConfig(dataset="ring", **cpu)
    digits = TrainConfig(dataset="digits", **cpu)
    dcgan = digits.replace(arch="dcgan")
    widths = [4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    issue = dcgan.replace(batch_size=1, width=64, image_size=64, z_dim=8)
    return [
        ("issue: digits dcgan 64 w64 b1 z8", issue),
        ("issue, live batch 64", issue.replace(batch_size=64)),
        ("issue, largest batch", _largest(issue, "batch_size", batches)),
        ("ring mlp default", ring),
        ("ring mlp w512 d8 b1024", ring.replace(width=512, depth=8, batch_size=1024)),
        ("spiral mlp w512 d8 b1", ring.replace(dataset="spiral", width=512, depth=8, batch_size=1)),
        ("grid mlp w512 d8 b1024 wgan_gp", ring.replace(dataset="grid", width=512, depth=8,
                                                        batch_size=1024, loss="wgan_gp")),
        ("ring mlp w512 d8 b1024 sn", ring.replace(width=512, depth=8, batch_size=1024,
                                                   spectral_norm=True)),
        ("moons mlp w4 d1 b1 z256", ring.replace(dataset="moons", width=4, depth=1, batch_size=1,
                                                 z_dim=256)),
        ("digits mlp 16 w128 b64", digits.replace(image_size=16, batch_size=64)),
        ("digits mlp 64 w512 d8 b1024", digits.replace(image_size=64, width=512, depth=8,
                                                       batch_size=1024)),
        ("digits mlp 64 w512 d8 b1024 sn wgan_gp",
         digits.replace(image_size=64, width=512, depth=8, batch_size=1024, spectral_norm=True,
                        loss="wgan_gp")),
        ("digits mlp 28 w256 d4 b256 r1", digits.replace(image_size=28, width=256, depth=4,
                                                        batch_size=256, r1_gamma=10)),
        ("digits dcgan 16 w32 b64 (preset)", dcgan.replace(image_size=16, width=32, batch_size=64,
                                                          z_dim=32)),
        ("digits dcgan 16 w64 b1024", _largest(dcgan.replace(image_size=16, width=64),
                                               "batch_size", batches)),
        ("digits dcgan 16 largest width b64", _largest(dcgan.replace(image_size=16, batch_size=64),
                                                       "width", widths)),
        ("digits dcgan 16 largest width b1 z256",
         _largest(dcgan.replace(image_size=16, batch_size=1, z_dim=256), "width", widths)),
        ("digits dcgan 32 w64 b256 sn", _largest(dcgan.replace(image_size=32, width=64,
                                                               spectral_norm=True),
                                                 "batch_size", [256, 128, 64])),
        ("digits dcgan 32 w32 wgan_gp largest batch",
         _largest(dcgan.replace(image_size=32, width=32, loss="wgan_gp"), "batch_size", batches)),
        ("digits dcgan 28 w128 b64 hinge sn", _largest(dcgan.replace(image_size=28, width=128,
                                                                     loss="hinge",
                                                                     spectral_norm=True),
                                                       "batch_size", [64, 32, 16])),
        ("digits dcgan 64 largest width b1", _largest(dcgan.replace(image_size=64, batch_size=1),
                                                      "width", widths)),
        ("digits dcgan 64 w16 b256 wgan_gp sn", _largest(dcgan.replace(image_size=64, width=16,
                                                                       loss="wgan_gp",
                                                                       spectral_norm=True),
                                                         "batch_size", [256, 128, 64])),
        ("digits dcgan 64 w32 r1 largest batch",
         _largest(dcgan.replace(image_size=64, width=32, r1_gamma=10), "batch_size", batches)),
        ("digits dcgan 32 w128 largest batch", _largest(dcgan.replace(image_size=32, width=128),
                                                        "batch_size", batches)),
    ]


# --- the child: one run, measured ----------------------------------------------------------
class _PeakSampler:
    """A thread reading this process's RSS every millisecond; take() returns and resets the max."""

    def __init__(self):
        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._process.memory_info().rss)
            time.sleep(0.001)

    def take(self) -> int:
        peak, self._peak = max(self._peak, self._process.memory_info().rss), 0
        return peak

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: kB


def _warm_up(config: TrainConfig) -> None:
    """A tiny run of the same kind (width 4, batch 2, another image size) before the baseline.

    The app's server is a warm process: the first conv or Adam step of a fresh interpreter
    also pages in ~300 MB of PyTorch's kernel code, which is no run's allocation. The other
    image size keeps the measured run's data set out of the warm-up.
    """
    from playground import metrics
    from playground.trainer import Trainer

    other = 32 if config.image_size != 32 else 16
    trainer = Trainer(config.replace(width=4, batch_size=2, image_size=other))
    trainer.step()
    metrics.evaluate(trainer.dataset, trainer.sample(64).numpy(), trainer.dataset.real_samples(64))


def _run_once(config: TrainConfig, steps: int) -> dict:
    """Build, train, render and evaluate `config`; peak RSS growth of each phase, in bytes."""
    import torch

    from playground import metrics
    from playground.field import extent_of, field_view, manifold
    from playground.trainer import Trainer

    torch.set_num_threads(1)
    metrics.digit_classifier()               # once per cache, then read from disk: not a run
    _warm_up(config)
    gc.collect()
    baseline, max_before = psutil.Process().memory_info().rss, _max_rss()
    began = time.perf_counter()
    with _PeakSampler() as sampler:
        trainer = Trainer(config)
        for _ in range(steps):
            trainer.step()
        step_peak = sampler.take()
        dataset = trainer.dataset
        real = dataset.real_samples(2000)
        shown = trainer.sample(300 if dataset.kind == "points" else 64)
        if dataset.kind == "points":
            field_view(trainer, shown, extent_of(real))
            manifold(trainer)
        metrics.evaluate(dataset, trainer.sample(2000).numpy(), real)
        eval_peak = sampler.take()
    peak = max(step_peak, eval_peak)
    if _max_rss() > max_before:              # a peak above every earlier one, seen by the kernel
        peak = max(peak, _max_rss())
    need = estimate_bytes(config, dataset.shape)
    return {**need, "peak": peak - baseline, "step_peak": step_peak - baseline,
            "eval_peak": eval_peak - baseline, "seconds": time.perf_counter() - began}


def _measure(config: TrainConfig, steps: int) -> dict:
    """_run_once in a fresh interpreter, so no run inherits another's allocator state."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "bench.memory_budget", "--child", config.to_json(),
               "--steps", str(steps)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the table ------------------------------------------------------------------------------
def _row(label: str, result: dict) -> tuple[str, bool]:
    if "error" in result:
        return f"{label:42} failed: {result['error'][:80]}", False
    limit = FACTOR * result["total"] + MARGIN
    ok = result["peak"] <= limit
    cells = [result["total"], result["parameters"], result["step"], result["evaluation"],
             result["step_peak"], result["eval_peak"], result["peak"], limit]
    numbers = " ".join(f"{value / MB:8.0f}" for value in cells)
    return f"{label:42} {numbers} {result['seconds']:6.1f}  {'ok' if ok else 'OVER'}", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2, help="training steps per run")
    parser.add_argument("--only", default="", help="run the configs whose label contains this")
    parser.add_argument("--child", help=argparse.SUPPRESS)     # one config's JSON: measure it
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_run_once(TrainConfig.from_json(args.child), args.steps)))
        return 0
    chosen = [(label, c) for label, c in configs() if args.only in label]
    print(f"{len(chosen)} configs, {args.steps} steps each; one run may use "
          f"{MAX_RUN_BYTES / MB:.0f} MB; pass: peak <= {FACTOR} x estimate + {MARGIN / MB:.0f} MB")
    print(f"{'config':42} {'estimate':>8} {'params':>8} {'step':>8} {'eval':>8} "
          f"{'step pk':>8} {'eval pk':>8} {'peak':>8} {'limit':>8} {'wall s':>6}  (MB)")
    failed = 0
    for label, config in chosen:
        line, ok = _row(label, _measure(config, args.steps) if _admitted(config)
                        else {"error": "refused by the budget"})
        failed += not ok
        print(line, flush=True)
    print(f"{len(chosen) - failed}/{len(chosen)} within the bound")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
