"""Do the lessons say what the class will see? Checks every claim of every preset on seeds 0-4.

    .venv/bin/python -m bench lessons [--seeds 0-4] [--preset NAME ...] [--jobs N]

Each preset JSON carries `claims` (what the lesson's text promises) and `try_next` entries
(each "Try next" of the text as a live edit and the change it promises); the schema is in
playground/lessons.py, which runs each preset through the one training loop (`Run`) and
measures every claim. This benchmark prints one table row per claim: the value measured on
each seed (a ratio for compare_to claims, a share of checkpoints for findings over a window,
1/0 for a finding at the end), `*` beside a failing value, and pass/FAIL over all seeds. It
also prints each preset's CPU seconds per seed (all its runs: the lesson, branches, twins).
Exit status 1 when any claim fails on any seed.

mnist_dcgan is skipped unless named with --preset: it downloads MNIST, and the checks run
offline. A preset without claims is listed as such. --seeds takes `0-4`, `5,6` or `0-2,5`.
--jobs runs that many (preset, seed) checks in parallel processes, each on one torch thread;
keep it at 1 or 2 on a shared 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from bench.common import machine_line
from playground.config import get_preset, preset_names
from playground.lessons import ClaimResult, check_claims

ONLINE_ONLY = {"mnist_dcgan": "needs MNIST from the network; the checks run offline"}


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '0-2,5' -> [0, 1, 2, 5]."""
    seeds: list[int] = []
    for part in filter(None, text.replace(" ", "").split(",")):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


def check_one(job: tuple[str, int]) -> tuple[str, int, list[ClaimResult], float]:
    """(preset, seed, results, CPU seconds) in this process, on one torch thread."""
    import torch

    torch.set_num_threads(1)
    name, seed = job
    began = time.process_time()
    results = check_claims(name, seed)
    return name, seed, results, time.process_time() - began


def run_jobs(jobs: list[tuple[str, int]], workers: int):
    if workers <= 1:
        yield from map(check_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(check_one, jobs)


def print_table(name: str, seeds: list[int], results: dict[int, list[ClaimResult]],
                cpu: dict[int, float]) -> int:
    """The rows of one preset; returns how many claims failed on some seed."""
    print(f"\n{name}  (CPU s per seed: " + ", ".join(f"{cpu[s]:.0f}" for s in seeds) + ")")
    header = "  ".join(f"seed {s:<3}" for s in seeds)
    width = max(len(r.label) for r in results[seeds[0]])
    print(f"  {'claim':<11} {'what':<{width}} {header}  result")
    failed = 0
    for row, first in enumerate(results[seeds[0]]):
        cells = []
        passed = True
        for seed in seeds:
            result = results[seed][row]
            passed &= result.passed
            cells.append(f"{result.value:<8.3g}{' ' if result.passed else '*'}")
        failed += not passed
        print(f"  {first.source:<11} {first.label:<{width}} {'  '.join(cells)}  "
              f"{'pass' if passed else 'FAIL'}")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-4"))
    parser.add_argument("--preset", action="append", choices=preset_names(),
                        help="check only this preset (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    names = args.preset or preset_names()
    print(machine_line())
    print(f"uptime: {os.popen('uptime').read().strip()}")
    checked = []
    for name in names:
        if name in ONLINE_ONLY and not args.preset:
            print(f"skip {name}: {ONLINE_ONLY[name]}")
        elif not get_preset(name).claims and not get_preset(name).try_next:
            print(f"skip {name}: the preset has no claims yet")
        else:
            checked.append(name)
    jobs = [(name, seed) for name in checked for seed in args.seeds]
    results: dict[str, dict[int, list[ClaimResult]]] = {name: {} for name in checked}
    cpu: dict[str, dict[int, float]] = {name: {} for name in checked}
    for name, seed, found, seconds in run_jobs(jobs, args.jobs):
        results[name][seed], cpu[name][seed] = found, seconds
        print(f"  checked {name} seed {seed}: {sum(r.passed for r in found)}/{len(found)} "
              f"pass, {seconds:.0f} CPU s", flush=True)
        for result in found:              # say at once what failed: the table waits for all
            if not result.passed:
                print(f"    FAIL {result.source}: {result.label}: {result.value:.4g}", flush=True)
    failed = sum(print_table(name, args.seeds, results[name], cpu[name]) for name in checked)
    print(f"\n{failed} claim(s) failing on some seed; uptime: {os.popen('uptime').read().strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
