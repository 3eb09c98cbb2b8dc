"""Is the engine's Trainer.step() as fast as a bare PyTorch GAN loop on the same networks?

    .venv/bin/python -m bench step_rate [--threads N] [--quick] [--explain]

For each workload (ring MLP 3x128 batch 256; digits DCGAN 16x16 width 32 batch 64) this builds
a Trainer and, separately, fresh copies of the same two networks (playground.models.build_models)
trained by the canonical loop of the PyTorch DCGAN example: D on a real batch and on the
*detached* fakes, then G on D(fakes), non-saturating BCE, Adam with the same settings, real
batches from the same dataset sampler, and `.item()` on the losses once per step as the example
does when it logs. After a warm-up the two alternate in rounds (trainer, bare, trainer, ...)
inside this one process, so another process's load hits both alike; the table gives the median
steps/s of each and the ratio trainer/bare (target >= 0.9).

--explain adds bare-loop variants that each do one thing differently from the example (a second
G forward instead of reusing the fakes; gradient norms of both networks, which the trainer
reports every step), to show where a gap would come from. The trainer itself reuses the fakes of
its last D update for the first G update (Trainer.d_update(keep_fake=True)), as the example does.
"""
from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F

from bench.common import WORKLOADS, machine_line, median, spread, steps_for, timed_rate, timed_rates
from playground.config import TrainConfig
from playground.data import make_dataset
from playground.models import build_models
from playground.trainer import Trainer

TARGET = 0.9
BARE = "bare loop (example)"


class BareLoop:
    """The PyTorch DCGAN example's training step on build_models() networks.

    reuse_fake=True is the example: one G forward per step, its output detached for D's update
    and reused for G's. grad_norms=True also computes both networks' gradient norms (the
    trainer reports them every step).
    """

    def __init__(self, config: TrainConfig, reuse_fake: bool = True, grad_norms: bool = False):
        self.config = config
        self.reuse_fake, self.grad_norms = reuse_fake, grad_norms
        self.dataset = make_dataset(config)
        torch.manual_seed(config.seed)
        self.netG, self.netD = build_models(config.arch, self.dataset.shape, config.z_dim,
                                            config.width, config.depth)
        betas = (config.beta1, config.beta2)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=config.lr_g, betas=betas)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=config.lr_d, betas=betas)
        self.rng = torch.Generator().manual_seed(config.seed)
        b = config.batch_size
        self.ones, self.zeros = torch.ones(b), torch.zeros(b)

    def step(self) -> tuple[float, float]:
        b, z_dim = self.config.batch_size, self.config.z_dim
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        self.netD.zero_grad()
        real = self.dataset.sample(b, self.rng)
        err_real = F.binary_cross_entropy_with_logits(self.netD(real), self.ones)
        err_real.backward()
        noise = torch.randn(b, z_dim)
        if self.reuse_fake:
            fake = self.netG(noise)
            d_input = fake.detach()
        else:
            with torch.no_grad():
                d_input = self.netG(noise)
        err_fake = F.binary_cross_entropy_with_logits(self.netD(d_input), self.zeros)
        err_fake.backward()
        err_d = err_real + err_fake
        self.optD.step()
        if self.grad_norms:
            torch.nn.utils.get_total_norm([p.grad for p in self.netD.parameters()])
        # (2) Update G: maximize log(D(G(z)))
        self.netG.zero_grad()
        if not self.reuse_fake:
            fake = self.netG(torch.randn(b, z_dim))
        err_g = F.binary_cross_entropy_with_logits(self.netD(fake), self.ones)
        err_g.backward()
        self.optG.step()
        if self.grad_norms:
            torch.nn.utils.get_total_norm([p.grad for p in self.netG.parameters()])
        return err_d.item(), err_g.item()


def compare(name: str, config: TrainConfig, rounds: int, seconds: float, explain: bool) -> list[dict]:
    """Interleaved rounds of every contender; one result row per contender.

    Each round runs every contender for the same number of steps, back to back (the order
    alternates between rounds). A contender's ratio is the median over rounds of its rate divided
    by the bare loop's rate *in the same round*: a burst of load from another process lands on
    one round and moves both sides of that round's ratio.
    """
    trainer = Trainer(config)
    contenders = {"trainer.step()": trainer.step, BARE: BareLoop(config).step}
    if explain:
        contenders["bare + 2nd G forward"] = BareLoop(config, reuse_fake=False).step
        contenders["bare + grad norms"] = BareLoop(config, grad_norms=True).step
        contenders["bare + both"] = BareLoop(config, reuse_fake=False, grad_norms=True).step
    # Warm-up: allocator, oneDNN primitive caches, first-call overheads; also sizes the rounds.
    warm = {label: timed_rate(step, 10) for label, step in contenders.items()}
    for label, step in contenders.items():
        warm[label] = timed_rate(step, steps_for(warm[label], 0.3))
    n = steps_for(min(warm.values()), seconds)
    wall: dict[str, list[float]] = {label: [] for label in contenders}
    cpu: dict[str, list[float]] = {label: [] for label in contenders}
    for r in range(rounds):
        order = list(contenders.items()) if r % 2 == 0 else list(reversed(contenders.items()))
        for label, step in order:
            w, c = timed_rates(step, n)
            wall[label].append(w)
            cpu[label].append(c)
    rows = []
    for label in contenders:
        ratio = median([a / b for a, b in zip(wall[label], wall[BARE])])
        cpu_ratio = median([a / b for a, b in zip(cpu[label], cpu[BARE])])
        rows.append({"workload": name, "contender": label, "steps": n, "rounds": rounds,
                     "median": median(wall[label]), "spread": spread(wall[label]),
                     "cpu_rate": median(cpu[label]), "ratio": ratio, "cpu_ratio": cpu_ratio})
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"| workload | contender | steps/round | median steps/s (wall) | min..max | "
          f"steps per CPU-s | ratio / bare (wall) | ratio / bare (CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['workload']} | {row['contender']} | {row['steps']} | {row['median']:.1f} | "
              f"{row['spread']} | {row['cpu_rate']:.1f} | {row['ratio']:.3f} | {row['cpu_ratio']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="3 short rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 9)")
    parser.add_argument("--explain", action="store_true", help="add bare-loop variants that locate a gap")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    rounds = args.rounds or (3 if args.quick else 9)
    seconds = 0.3 if args.quick else 0.8
    print(machine_line())
    print(f"torch threads {torch.get_num_threads()}; {rounds} interleaved rounds of ~{seconds:.1f} s per "
          f"contender after warm-up; ratio = median over rounds of (rate / bare loop's rate in that round)\n")
    rows = []
    for name, config in WORKLOADS.items():
        rows += compare(name, config, rounds, seconds, args.explain)
    print_table(rows)
    print()
    for row in rows:
        if row["contender"] == "trainer.step()":
            verdict = "OK" if row["ratio"] >= TARGET else "BELOW TARGET"
            print(f"{row['workload']}: trainer/bare = {row['ratio']:.3f} wall, {row['cpu_ratio']:.3f} CPU time "
                  f"(target >= {TARGET}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
