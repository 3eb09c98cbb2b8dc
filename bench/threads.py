"""How many torch threads should a training run use? Trainer.step() with 1 and 2 threads, alone and
while another process keeps one core busy.

    .venv/bin/python -m bench threads [--quick] [--threads 1 2]

On a 2-core machine (a CPU-basic Space, a laptop with a browser open) the trainer is never
alone: the web server, a second visitor, or the tests of a colleague want a core too. With 2
intra-op threads PyTorch's OpenMP can then slow down 10-100x (a thread spin-waits at a barrier
for its descheduled twin). This measures both workloads of bench/step_rate.py in both
situations. Within one situation the thread counts alternate in
rounds inside this one process; each round runs for a fixed time, not a fixed step count, so a
pathological case cannot blow the time budget. "Busy" = a `while True: pass` Python subprocess.
"""
from __future__ import annotations

import argparse
import sys

import torch

from bench.common import WORKLOADS, CoreBurner, OtherLoad, machine_line, median, rate_for, spread
from playground.trainer import Trainer


def measure(trainers: dict, thread_counts: list[int], rounds: int, seconds: float) -> dict:
    """{(workload, threads): [steps/s per round]}, thread counts alternating round by round."""
    rates: dict[tuple[str, int], list[float]] = {}
    for name, trainer in trainers.items():
        for threads in thread_counts:                     # warm-up at every thread count
            torch.set_num_threads(threads)
            rate_for(trainer.step, 0.3)
        for r in range(rounds):
            order = thread_counts if r % 2 == 0 else list(reversed(thread_counts))
            for threads in order:
                torch.set_num_threads(threads)
                rates.setdefault((name, threads), []).append(rate_for(trainer.step, seconds))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 short rounds (a smoke test)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per situation (default 4)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 4)
    seconds = 0.5 if args.quick else 1.5
    print(machine_line())
    print(f"{rounds} rounds of ~{seconds:.1f} s per (workload, threads), thread counts alternating; "
          f"median steps/s (wall clock)\n")

    trainers = {name: Trainer(config) for name, config in WORKLOADS.items()}
    with OtherLoad() as quiet:
        results = {"alone": measure(trainers, args.threads, rounds, seconds)}
    with CoreBurner(), OtherLoad() as busy:
        results["1 core busy"] = measure(trainers, args.threads, rounds, seconds)
    print(f"cores kept busy by other processes meanwhile: no burner {quiet.cores:.2f}, "
          f"with burner {busy.cores:.2f} (burner included); 'alone' is only alone when the first is ~0\n")
    print_table(results, list(trainers), args.threads)
    print_recommendation(results, list(trainers), args.threads)
    return 0


def print_table(results: dict, names: list[str], counts: list[int]) -> None:
    print("| workload | threads | no burner: steps/s | min..max | + burner (1 core busy): steps/s | "
          "min..max | burner / no burner |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        for threads in counts:
            alone = results["alone"][(name, threads)]
            busy = results["1 core busy"][(name, threads)]
            print(f"| {name} | {threads} | {median(alone):.1f} | {spread(alone)} | {median(busy):.1f} | "
                  f"{spread(busy)} | {median(busy) / median(alone):.2f} |")


def print_recommendation(results: dict, names: list[str], counts: list[int]) -> None:
    """The thread count whose *worst* situation is best, as fractions of each workload's best
    rate (so the slow DCGAN counts as much as the fast MLP); ties go to the best total."""
    def share(rates: dict, name: str, threads: int) -> float:
        return median(rates[(name, threads)]) / max(median(rates[(name, t)]) for t in counts)

    def worst(threads: int) -> float:
        return min(share(rates, name, threads) for name in names for rates in results.values())

    def score(threads: int) -> float:
        return sum(share(rates, name, threads) for name in names for rates in results.values())

    print()
    for name in names:
        fastest = {situation: max(counts, key=lambda t: median(rates[(name, t)]))
                   for situation, rates in results.items()}
        print(f"{name}: fastest alone with {fastest['alone']} thread(s), "
              f"with one core busy with {fastest['1 core busy']} thread(s)")
    choice = max(counts, key=lambda t: (worst(t), score(t)))
    print(f"\nRecommendation: torch.set_num_threads({choice}) by default "
          f"(worst case {worst(choice):.0%} of the best thread count in any situation; "
          + ", ".join(f"{t} thread(s): worst {worst(t):.0%}" for t in counts) + ").")


if __name__ == "__main__":
    sys.exit(main())
