"""How long until a lesson shows its result? Training time and steps until a preset first meets its target.

    .venv/bin/python bench/time_to_quality.py [--seeds 0 1 2] [--presets ring_stable digits_mlp digits_dcgan]

Each preset is read from presets/*.json at run time (they are still being tuned) and trained
with the engine on 1 torch thread for the preset's suggested number of steps. Every 250 steps
(ring) or 100 steps (digits) playground.metrics.evaluate judges trainer.sample(2000) against
dataset.real_samples(2000). Reported: training seconds (wall and CPU, evaluation time excluded)
and steps until the target is first met, and the quality at the suggested step count. "Later evals also met" counts the evaluations after
the first success that met the target too (a lesson whose result comes and goes shows it here).

Targets (DESIGN.md): ring_stable 8/8 modes with >= 80 % high-quality samples; digits_mlp and
digits_dcgan >= 9/10 digit classes. Wall seconds depend on what else the machine runs; CPU
seconds much less so (with 1 thread the run cannot use more than one core anyway).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from benchutil import OtherLoad, machine_line  # noqa: E402
from playground import Trainer  # noqa: E402
from playground.config import get_preset  # noqa: E402
from playground.metrics import evaluate  # noqa: E402

N = 2000
PRESETS = ("ring_stable", "digits_mlp", "digits_dcgan")


def target_met(preset: str, quality: dict) -> bool:
    if preset == "ring_stable":
        return quality["modes_covered"] == quality["modes_total"] and quality["high_quality"] >= 0.8
    return quality["classes_covered"] >= 9


def describe(quality: dict) -> str:
    if "modes_covered" in quality:
        return f"{quality['modes_covered']}/{quality['modes_total']} modes, hq {quality['high_quality']:.2f}"
    return f"{quality['classes_covered']}/10 classes, FD {quality['fd']:.1f}"


def run(preset_name: str, seed: int) -> dict:
    """Train one preset/seed; returns when the target was first met and the final quality."""
    preset = get_preset(preset_name)
    config = preset.config.replace(seed=seed)
    every = 250 if config.dataset in ("ring", "grid") else 100
    trainer = Trainer(config)
    dataset = trainer.dataset
    real = dataset.real_samples(N)
    wall = cpu = 0.0                      # training time only (evaluations excluded)
    first = None
    quality: dict = {}
    step = 0
    met_after_first = []                  # did each later evaluation still meet the target?
    with OtherLoad() as load:
        while step < preset.steps:
            chunk = min(every, preset.steps - step)
            w, c = time.perf_counter(), time.process_time()
            for _ in range(chunk):
                trainer.step()
            wall += time.perf_counter() - w
            cpu += time.process_time() - c
            step += chunk
            if trainer.diverged:
                break
            quality = evaluate(dataset, trainer.sample(N).numpy(), real)
            met = target_met(preset_name, quality)
            if first is None and met:
                first = {"step": step, "wall": wall, "cpu": cpu}
            elif first is not None:
                met_after_first.append(met)
    return {"preset": preset_name, "seed": seed, "steps": preset.steps, "every": every, "first": first,
            "final": quality, "final_ok": bool(quality) and target_met(preset_name, quality),
            "wall": wall, "cpu": cpu, "rate": step / wall if wall else 0.0,
            "diverged": trainer.diverged, "other_cores": load.cores,
            "held": f"{sum(met_after_first)}/{len(met_after_first)}" if first else "-"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line())
    print(f"torch threads 1; seeds {args.seeds}; evaluation time excluded from the seconds\n")
    rows = []
    for name in args.presets:
        for seed in args.seeds:
            row = run(name, seed)
            rows.append(row)
            print(f"  done {name} seed {seed}: {row['wall']:.1f} s", file=sys.stderr, flush=True)
    print("| preset | seed | target first met: step | wall s | CPU s | later evals also met | "
          "at suggested steps | met | train wall s | CPU s | steps/s | other cores busy |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|")
    for r in rows:
        f = r["first"]
        first = f"{f['step']} | {f['wall']:.1f} | {f['cpu']:.1f}" if f else "never | - | -"
        final = describe(r["final"]) + (" (diverged)" if r["diverged"] else "") if r["final"] else "diverged"
        print(f"| {r['preset']} | {r['seed']} | {first} | {r['held']} | {r['steps']}: {final} | "
              f"{'yes' if r['final_ok'] else 'NO'} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rate']:.1f} | "
              f"{r['other_cores']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
