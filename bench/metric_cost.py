"""What does a quality evaluation cost? Median ms of each metric on 2000 samples, 1 torch thread.

    .venv/bin/python -m bench metric_cost [--quick] [--repeats N]

Metrics: point_quality and js_divergence on the ring (8 modes) and the grid (25 modes);
digit_quality with the Fréchet distance on 16x16 digits; plus trainer.sample(2000) (the
generator pass every evaluation needs) and the whole playground.metrics.evaluate call. The last
column puts one evaluation (sample + evaluate) against the training time between two
evaluations at the run's cadence (playground.run.eval_every, the same for the CLI and the app),
with the step rate measured here: evaluation should stay under 10 % of training time.

Sample content hardly changes the cost (the work is distances, histograms, one small MLP and a
64x64 matrix square root), so "generated" samples here are real data from another seed with
noise added, and images come from an untrained generator.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from bench.common import DIGITS_DCGAN, RING_MLP, OtherLoad, machine_line, median, rate_for
from playground.data import make_dataset
from playground.digit_classifier import CLASSIFIER_FILE, cache_dir, digit_classifier
from playground.metrics import digit_quality, evaluate, js_divergence, point_quality
from playground.run import eval_every
from playground.trainer import Trainer

N = 2000


def ms(fn, repeats: int) -> float:
    """Median wall milliseconds of `fn()` over `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per metric (default 21)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 21)
    torch.set_num_threads(1)
    print(machine_line())

    cached = (cache_dir() / CLASSIFIER_FILE).is_file()
    started = time.perf_counter()
    digit_classifier()            # from the disk cache, or trained now (seconds, once per machine)
    print(f"digit classifier {'loaded from the disk cache' if cached else 'trained (no disk cache yet)'} "
          f"in {time.perf_counter() - started:.2f} s (once per process)")
    print(f"{N} samples, torch threads 1, median of {repeats} calls (wall ms)\n")

    rows = []
    with OtherLoad() as load:
        for key in ("ring", "grid"):
            config = RING_MLP.replace(dataset=key)
            dataset = make_dataset(config)
            real = dataset.real_samples(N)
            fake = dataset.real_samples(N, seed=7) + np.random.default_rng(0).normal(0, 0.1, (N, 2)).astype(np.float32)
            trainer = Trainer(config)
            cost_sample = ms(lambda: trainer.sample(N), repeats)
            cost_eval = ms(lambda: evaluate(dataset, fake, real), repeats)
            step_rate = rate_for(trainer.step, 1.0)
            rows += [
                (f"{key}: point_quality", ms(lambda: point_quality(fake, dataset.modes, dataset.mode_std), repeats), None),
                (f"{key}: js_divergence", ms(lambda: js_divergence(fake, real), repeats), None),
                (f"{key}: trainer.sample({N})", cost_sample, None),
                (f"{key}: evaluate() (both metrics)", cost_eval,
                 (cost_sample + cost_eval) / (eval_every(config) / step_rate * 1e3)),
            ]
        config = DIGITS_DCGAN
        dataset = make_dataset(config)
        real = dataset.real_samples(N)
        trainer = Trainer(config)
        fake = trainer.sample(N).numpy()                                    # (N, 1, 16, 16)
        cost_sample = ms(lambda: trainer.sample(N), repeats)
        cost_eval = ms(lambda: evaluate(dataset, fake, real), repeats)
        step_rate = rate_for(trainer.step, 2.0)
        rows += [
            ("digits 16x16: digit_quality, no FD", ms(lambda: digit_quality(fake), repeats), None),
            ("digits 16x16: digit_quality + FD", ms(lambda: digit_quality(fake, real), repeats), None),
            (f"digits 16x16: DCGAN trainer.sample({N})", cost_sample, None),
            ("digits 16x16: evaluate() (= quality + FD)", cost_eval,
             (cost_sample + cost_eval) / (eval_every(config) / step_rate * 1e3)),
        ]

    print("| metric | median ms | sample + evaluate vs training between evaluations (run cadence) |")
    print("|---|---:|---:|")
    for label, cost, share in rows:
        print(f"| {label} | {cost:.2f} | {'' if share is None else f'{share:.1%}'} |")
    print(f"\ncores kept busy by other processes meanwhile: {load.cores:.2f}")
    print(f"run cadence: every {eval_every(RING_MLP)} steps (points), {eval_every(DIGITS_DCGAN)} steps (images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
