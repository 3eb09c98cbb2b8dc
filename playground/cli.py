"""Headless runs: the same engine as the app, files out.

    python -m playground train (--preset NAME | --config FILE | --resume RUN_DIR) [--set key=value ...]
                               [--steps N] [--timelapse] --out DIR
    python -m playground sweep --preset NAME --x lr_d=1e-4:1e-2:6:log --y lr_g=... [--ray] --out DIR
    python -m playground presets
    python -m playground app      (the web app, as app.py; installed: gan-playground app|train|presets)

Progress (a tqdm bar: rate, ETA) goes to stderr; a bad config or unavailable data exits 2 with one line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tqdm import tqdm

from .checkpoint import CheckpointError, save_generator
from .config import ConfigError, TrainConfig, get_preset, list_presets
from .data import DataError
from .film import FRAME_CAP, Film, write_timelapse
from .pictures import image_grid, scatter
from .run import EVAL_SAMPLES, Run
from .run_log import RunLog
from .run_state import load_run, save_run
from .snapshot import IMAGE_SAMPLES, POINT_SAMPLES
from .sweep import add_sweep_parser, sweep_command
from .trainer import set_threads

N_SAMPLES = EVAL_SAMPLES  # samples.npy / real.npy: enough for the mode metrics
DEFAULT_THREADS = 1      # measured fastest for these small models on 2 cores (bench/RESULTS.md)


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


def train(config: TrainConfig, steps: int, out: Path, quiet: bool = False,
          timelapse: bool = False, resume: Path | None = None) -> dict:
    """Train for `steps` steps through the one Run loop and write the CLI's files into `out`
    (with timelapse.gif / timelapse.mp4 of the samples when `timelapse`). With `resume`, a
    whole-run checkpoint.safetensors: the run carries on from its step, `steps` more steps."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    trainer = load_run(resume) if resume is not None else None
    config = trainer.config if trainer is not None else config
    (out / "config.json").write_text(config.to_json())
    run = Run(config, trainer=trainer)
    log = RunLog(run, out)
    if timelapse:
        record_film(run, steps)
    if not quiet:
        progress_bar(run, steps)
    try:
        run.train(steps)
    finally:
        log.close()
    if run.diverged and not quiet:
        print(f"stopped at step {run.step_count}: a loss or gradient became non-finite (diverged)",
              file=sys.stderr)
    wall = time.perf_counter() - started
    write_outputs(run, out)
    if run.film is not None:
        write_timelapse(run.film, out, run.real if run.trainer.dataset.kind == "points" else None)
    summary = run.summary(wall)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def resume_file(where: str) -> Path:
    """RUN_DIR/checkpoint.safetensors (or the file itself), refused in words if missing."""
    path = Path(where)
    path = path / "checkpoint.safetensors" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError("--resume", where, "a run folder with checkpoint.safetensors "
                          "(written by `train`, or the app's Downloads)")
    return path


def record_film(run: Run, steps: int) -> None:
    """Offer the film a frame (the fixed latent batch's samples) about FRAME_CAP times a run."""
    run.film = Film()
    every = max(1, steps // FRAME_CAP)
    count = POINT_SAMPLES if run.trainer.dataset.kind == "points" else IMAGE_SAMPLES

    def on_step(run: Run, stats) -> None:
        if stats.step % every == 0 or stats.step == 1:
            run.film.add(stats.step, run.trainer.sample(count).numpy())

    run.add_callback("on_step", on_step)


def progress_bar(run: Run, steps: int) -> None:
    """A tqdm bar on stderr (rate, ETA) with the latest losses and D's outputs beside it."""
    bar = tqdm(total=steps, unit="step", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

    def on_step(run: Run, stats) -> None:
        bar.update(1)
        if stats.step % 50 == 0:
            bar.set_postfix_str(f"d_loss {stats.d_loss:.3f} g_loss {stats.g_loss:.3f} "
                                f"D(x) {stats.d_real:.2f} D(G(z)) {stats.d_fake:.2f}", refresh=False)

    run.add_callback("on_step", on_step)
    run.add_callback("on_end", lambda run, _: bar.close())


def write_outputs(run: Run, out: Path) -> None:
    """samples.npy (+ real.npy), samples.png and generator.safetensors of the final weights."""
    trainer, dataset = run.trainer, run.trainer.dataset
    samples = trainer.sample(N_SAMPLES).numpy()
    np.save(out / "samples.npy", samples)
    if dataset.kind == "points":
        np.save(out / "real.npy", run.real)
        scatter(samples, run.real).save(out / "samples.png")
    else:
        image_grid(samples[:64], columns=8, scale=2).save(out / "samples.png")
    save_generator(out / "generator.safetensors", trainer.generator, trainer.config, dataset.shape)
    save_run(out / "checkpoint.safetensors", trainer)       # the whole run: --resume goes on from it


def serve_app() -> int:
    """What app.py does; the UI is imported here only, so `train` and `presets` never load gradio."""
    from .ui.app import served_app
    from .ui.uploads import MAX_UPLOAD_BYTES
    served_app().launch(max_file_size=MAX_UPLOAD_BYTES)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground", description="GAN Playground, headless.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("train", help="train a GAN and write its files")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="lesson preset name (see `presets`)")
    source.add_argument("--config", help="a config.json (e.g. from an earlier run)")
    source.add_argument("--resume", metavar="RUN_DIR",
                        help="carry on a run: RUN_DIR/checkpoint.safetensors (from train or Downloads)")
    run.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE", help="override config keys (repeatable)")
    run.add_argument("--steps", type=int, help="training steps (default: the preset's suggestion)")
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--quiet", action="store_true", help="no progress line")
    run.add_argument("--timelapse", action="store_true",
                     help="also write timelapse.gif and timelapse.mp4 of the samples over the run")
    commands.add_parser("presets", help="list the lesson presets")
    commands.add_parser("app", help="launch the web app, as app.py does")
    add_sweep_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "app":
        return serve_app()
    if args.command == "sweep":
        return sweep_command(args)

    if args.command == "presets":
        for preset in list_presets():
            print(f"{preset.name:18} {preset.summary}")
        return 0
    set_threads(int(os.environ.get("GAN_PLAYGROUND_THREADS", DEFAULT_THREADS)))
    try:
        resume = resume_file(args.resume) if args.resume else None
        config, steps = (None, args.steps or 2000) if resume else build_config(args)
        summary = train(config, steps, Path(args.out), quiet=args.quiet, timelapse=args.timelapse,
                        resume=resume)
    except (ConfigError, DataError, CheckpointError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
