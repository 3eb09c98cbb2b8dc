"""How long until a lesson shows its result? Training time and steps until a preset first meets its target.

    .venv/bin/python -m bench time_to_quality [--seeds 0 1 2] [--presets ring_stable digits_mlp digits_dcgan]
                                              [--steps N] [--quick]

Each preset is read from presets/*.json at run time and trained by the one training loop
(playground.run.Run, as the CLI and the app do) on 1 torch thread for the preset's suggested
number of steps (or --steps). An observer of the run's `on_eval` event notes every evaluation;
the run evaluates every 250 steps (ring) or 100 steps (digits) here, finer than its default
cadence, to see *when* the target is first met. Reported: training seconds (Run.train_s:
time spent in Trainer.step, evaluations excluded) and steps until the target is first met,
and the quality at the last step. "Later evals also met" counts the evaluations after the
first success that met the target too (a lesson whose result comes and goes shows it here).

Targets: ring_stable 8/8 modes with >= 80 % high-quality samples; digits_mlp and digits_dcgan
>= 9/10 digit classes. Wall seconds depend on what else the machine runs; the "other cores
busy" column says how much that was.
"""
from __future__ import annotations

import argparse
import sys

import torch

from bench.common import OtherLoad, machine_line
from playground.config import get_preset
from playground.run import Run

PRESETS = ("ring_stable", "digits_mlp", "digits_dcgan")


def target_met(preset: str, quality: dict) -> bool:
    if preset == "ring_stable":
        return quality["modes_covered"] == quality["modes_total"] and quality["high_quality"] >= 0.8
    return quality["classes_covered"] >= 9


def describe(quality: dict) -> str:
    if "modes_covered" in quality:
        return f"{quality['modes_covered']}/{quality['modes_total']} modes, hq {quality['high_quality']:.2f}"
    return f"{quality['classes_covered']}/10 classes, FD {quality['fd']:.1f}"


def run(preset_name: str, seed: int, steps: int | None) -> dict:
    """Train one preset/seed; returns when the target was first met and the final quality."""
    preset = get_preset(preset_name)
    config = preset.config.replace(seed=seed)
    every = 100 if config.is_image else 250
    steps = steps or preset.steps
    training = Run(config, every=every)
    evals: list[tuple[int, float, bool]] = []          # (step, training seconds, met)
    training.add_callback("on_eval", lambda r, quality: evals.append(
        (r.step_count, r.train_s, target_met(preset_name, quality))))
    with OtherLoad() as load:
        training.train(steps)
    first = next((e for e in evals if e[2]), None)
    later = [e[2] for e in evals if first is not None and e[0] > first[0]]
    quality = training.quality
    return {"preset": preset_name, "seed": seed, "steps": training.step_count, "every": every,
            "first": first, "final": quality,
            "final_ok": bool(quality) and target_met(preset_name, quality),
            "wall": training.train_s, "rate": training.steps_per_s,
            "diverged": training.diverged, "other_cores": load.cores,
            "held": f"{sum(later)}/{len(later)}" if first else "-"}


def print_table(rows: list[dict]) -> None:
    print("| preset | seed | target first met: step | training s | later evals also met | "
          "at the last step | met | training s in all | steps/s | other cores busy |")
    print("|---|---:|---:|---:|---:|---|---|---:|---:|---:|")
    for r in rows:
        first = f"{r['first'][0]} | {r['first'][1]:.1f}" if r["first"] else "never | -"
        final = (describe(r["final"]) + (" (diverged)" if r["diverged"] else "")
                 if r["final"] else "diverged")
        print(f"| {r['preset']} | {r['seed']} | {first} | {r['held']} | {r['steps']}: {final} | "
              f"{'yes' if r['final_ok'] else 'NO'} | {r['wall']:.1f} | {r['rate']:.1f} | "
              f"{r['other_cores']:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--steps", type=int, default=None, help="instead of each preset's own")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: ring_stable, seed 0, 1000 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.seeds, args.steps = ["ring_stable"], [0], args.steps or 1000
    torch.set_num_threads(1)
    print(machine_line())
    print(f"torch threads 1; seeds {args.seeds}; evaluation time excluded from the seconds\n")
    rows = []
    for name in args.presets:
        for seed in args.seeds:
            rows.append(run(name, seed, args.steps))
            print(f"  done {name} seed {seed}: {rows[-1]['wall']:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
