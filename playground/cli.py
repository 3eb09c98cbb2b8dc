"""Headless runs: the same engine as the app, files out.

    python -m playground train (--preset NAME | --config FILE) [--set key=value ...] [--steps N] --out DIR
    python -m playground presets

Progress and steps/s go to stderr; a bad config or unavailable data exits 2 with one line.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .checkpoint import save_generator
from .config import ConfigError, TrainConfig, get_preset, list_presets
from .data import DataError
from .diagnose import diagnose
from .history import History
from .metrics import evaluate
from .pictures import image_grid, scatter
from .trainer import STAT_NAMES, Trainer, set_threads

N_SAMPLES = 2000         # samples.npy / real.npy: enough for the mode metrics (DESIGN.md)
LOG_EVERY = 10           # steps between metrics.csv rows
EVAL_SAMPLES = 2000
DEFAULT_THREADS = 1      # measured fastest for these small models on 2 cores (bench/RESULTS.md)


def eval_every(config: TrainConfig) -> int:
    """Steps between quality evaluations, so that evaluating costs well under 10 % of training."""
    return 200 if config.is_image else 500


def build_config(args: argparse.Namespace) -> tuple[TrainConfig, int]:
    """The resolved config and step count from --preset/--config, --set and --steps."""
    steps = 2000
    if args.preset:
        preset = get_preset(args.preset)
        config, steps = preset.config, preset.steps
    else:
        try:
            text = Path(args.config).read_text()
        except OSError as err:
            raise ConfigError("config", args.config, f"a readable JSON file ({err.strerror})") from None
        config = TrainConfig.from_json(text)
    changes = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("--set", item, "key=value")
        changes[key.strip()] = value
    config = config.replace(**changes)
    if args.steps is not None:
        if args.steps < 1:
            raise ConfigError("steps", args.steps, "an integer >= 1")
        steps = args.steps
    return config, steps


def train(config: TrainConfig, steps: int, out: Path, quiet: bool = False) -> dict:
    """Train for `steps` steps and write the DESIGN contract's files into `out`; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(config.to_json())
    started = time.perf_counter()
    trainer = Trainer(config)
    dataset = trainer.dataset
    real = dataset.real_samples(EVAL_SAMPLES)
    history = History()
    every = eval_every(config)
    quality: dict = {}
    last_print = 0.0
    with open(out / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *STAT_NAMES, *_quality_header(dataset)])
        for step in range(1, steps + 1):
            stats = trainer.step()
            history.add(stats.to_dict())
            if not stats.finite:
                print(f"\nstopped at step {step}: a loss or gradient became non-finite (diverged)", file=sys.stderr)
                writer.writerow([step] + [getattr(stats, n) for n in STAT_NAMES]
                                + [""] * len(_quality_header(dataset)))
                break
            is_eval = step % every == 0 or step == steps
            if is_eval:
                quality = evaluate(dataset, trainer.sample(EVAL_SAMPLES).numpy(), real)
                history.add_eval({"step": step, **quality})
            if step == 1 or step % LOG_EVERY == 0 or is_eval:
                row = [step] + [getattr(stats, n) for n in STAT_NAMES]
                row += [quality.get(k, "") if is_eval else "" for k in _quality_header(dataset)]
                writer.writerow(row)
            now = time.perf_counter()
            if not quiet and (now - last_print > 1.0 or step == steps):
                last_print = now
                rate = step / (now - started)
                print(f"\rstep {step}/{steps} · {rate:.1f} steps/s · d_loss {stats.d_loss:.3f} "
                      f"g_loss {stats.g_loss:.3f} · D(x) {stats.d_real:.2f} D(G(z)) {stats.d_fake:.2f}",
                      end="", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    if not quiet:
        print(file=sys.stderr)
    samples = trainer.sample(N_SAMPLES).numpy()
    np.save(out / "samples.npy", samples)
    if dataset.kind == "points":
        np.save(out / "real.npy", real)
        scatter(samples, real).save(out / "samples.png")
    else:
        image_grid(samples[:64], columns=8, scale=2).save(out / "samples.png")
    save_generator(out / "generator.safetensors", trainer.generator, trainer.config, dataset.shape)
    final = evaluate(dataset, samples, real)
    findings = diagnose(history.recent_columns(), config.loss, history.evals)
    summary = {**final, "steps": trainer.step_count, "wall_s": round(wall, 2),
               "steps_per_s": round(trainer.step_count / wall, 2), "diverged": trainer.diverged,
               "findings": [f.code for f in findings]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


_QUALITY_COLUMNS = {
    "points_modes": ["modes_covered", "modes_total", "high_quality", "js"],
    "points": ["js"],
    "digits": ["classes_covered", "class_entropy", "fd"],
    "images": [],
}


def _quality_header(dataset) -> list[str]:
    if dataset.kind == "points":
        return _QUALITY_COLUMNS["points_modes" if dataset.modes is not None else "points"]
    return _QUALITY_COLUMNS["digits" if dataset.key in ("digits", "mnist") else "images"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground", description="GAN Playground, headless.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("train", help="train a GAN and write its files")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="lesson preset name (see `presets`)")
    source.add_argument("--config", help="a config.json (e.g. from an earlier run)")
    run.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE", help="override config keys (repeatable)")
    run.add_argument("--steps", type=int, help="training steps (default: the preset's suggestion)")
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--quiet", action="store_true", help="no progress line")
    commands.add_parser("presets", help="list the lesson presets")
    args = parser.parse_args(argv)

    if args.command == "presets":
        for preset in list_presets():
            print(f"{preset.name:18} {preset.summary}")
        return 0
    set_threads(int(os.environ.get("GAN_PLAYGROUND_THREADS", DEFAULT_THREADS)))
    try:
        config, steps = build_config(args)
        summary = train(config, steps, Path(args.out), quiet=args.quiet)
    except (ConfigError, DataError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
