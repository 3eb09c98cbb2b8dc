"""Ensemble: K GANs of one shape trained as one vectorised computation (a sweep's engine).

A map of 36 learning-rate pairs is 36 tiny GANs. Stepped one after another, each step pays
Python and dispatch costs that dwarf the arithmetic; stacked, the K members' weights become
(K, out, in) tensors and every layer is one batched matmul (torch.baddbmm) for all of them.
Stacked weights with bmm were measured ~1.8x faster than torch.func (vmap over
functional_call) for the map's MLP and need no functorch rules for spectral norm's in-place
power iteration (bench/ensemble.py measures the ensemble against K Trainers).

    ensemble = Ensemble([config.replace(seed=s, lr_d=lr) for s, lr in pairs])
    stats = ensemble.step()              # list of K StepStats, like Trainer.step()
    points = ensemble.sample(3, 2000)    # member 3's G on its fixed latent batch
    trainer = ensemble.member_trainer(3) # a Trainer that carries on exactly where member 3 is

Member k is Trainer(configs[k]) computed side by side: the same initial weights (built inside
fork_rng with manual_seed(seed), then stacked), the same data and noise streams (one
torch.Generator each, seeded seed and seed + 1), the same fixed latents (seed + 2), the same
order of draws, torch.optim's Adam / RMSprop / SGD maths with the member's own rates, and the
same StepStats. The ensemble's members must agree on SHAPE_KEYS (group_by_shape sorts a list
of configs into ensembles); every other key (seed, lr_d, lr_g, betas, r1_gamma, gp_lambda,
clip, label_smoothing, instance_noise) is per member. A member whose numbers go non-finite
stops changing while the others go on, as a lone Trainer stops.

Vectorised: arch="mlp" (points, or flattened images), every loss, spectral norm. The DCGAN
(BatchNorm's running statistics and convolutions per member) is not vectorised: for it the
same API steps K plain Trainers in turn (`vectorised` is False), exact by construction.
The stacked networks, optimizers and per-member losses themselves are in stacked.py.

Live edits: `apply(k, **changes)` changes member k's per-member live keys between steps (as
Trainer.apply does for one GAN); a live key that is also a shape key (d_steps, g_steps,
batch_size) cannot differ inside one ensemble: take member_trainer(k) and go on with that.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .budget import check_budget
from .config import TrainConfig, check_live
from .data import Dataset, make_dataset
from .losses import LOSSES
from . import trainer as _trainer
from .models import build_models
from .stacked import (MEMBER_D_LOSS, MEMBER_G_LOSS, StackedMLP, StackedOptimizer, grad_norms,
                      per_member)
from .trainer import STAT_NAMES, StepStats, Trainer, resolve_device

# Raw mean D outputs, where the Trainer reports them (StepStats.score_real / score_fake).
SCORE_NAMES = tuple(getattr(_trainer, "SCORE_NAMES", ()))

# Keys that fix the tensors' shapes and the step's structure: one ensemble, one value.
SHAPE_KEYS = ("arch", "dataset", "width", "depth", "z_dim", "image_size", "loss", "batch_size",
              "d_steps", "g_steps", "spectral_norm", "optimizer_d", "optimizer_g", "device",
              "data_path", "data_root")


def shape_key(config: TrainConfig) -> tuple:
    return tuple(getattr(config, key) for key in SHAPE_KEYS)


def group_by_shape(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """Indices of `configs` grouped by SHAPE_KEYS (first-seen order): one ensemble per group."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(shape_key(config), []).append(index)
    return list(groups.values())


# --- the ensemble --------------------------------------------------------------------------
class Ensemble:
    """K GANs trained side by side; member k computes what Trainer(configs[k]) computes.

    Ensemble(configs) with a non-MLP arch gives a LoopedEnsemble (K Trainers, same API).
    """

    def __new__(cls, configs: Sequence[TrainConfig], dataset: Dataset | None = None):
        if cls is Ensemble and configs and configs[0].arch != "mlp":
            cls = LoopedEnsemble
        return super().__new__(cls)

    def __init__(self, configs: Sequence[TrainConfig], dataset: Dataset | None = None):
        if not configs:
            raise ValueError("an Ensemble needs at least one config")
        if len(group_by_shape(configs)) != 1:
            raise ValueError(f"configs differ in a shape key ({', '.join(SHAPE_KEYS)}): "
                             "split them with group_by_shape()")
        self.configs = list(configs)
        self.size = len(self.configs)
        self.dataset = dataset if dataset is not None else make_dataset(self.configs[0])
        for config in self.configs:
            check_budget(config, self.dataset.shape)
        self.step_count = 0
        self.diverged = [False] * self.size
        self.last_stats: list[StepStats | None] = [None] * self.size
        self._build()

    @property
    def vectorised(self) -> bool:
        return True

    def _build(self) -> None:
        first, shape = self.configs[0], self.dataset.shape
        self.device = resolve_device(first.device)
        self.loss = LOSSES[first.loss]
        generators, discriminators = [], []
        for config in self.configs:       # exactly Trainer's construction, member by member
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)
                g, d = build_models(first.arch, shape, first.z_dim, first.width, first.depth,
                                    spectral_norm=first.spectral_norm,
                                    critic_batch_norm=self.loss.critic_batch_norm)
            generators.append(g)
            discriminators.append(d)
        self.g = StackedMLP(generators, self.device, "g", shape)
        self.d = StackedMLP(discriminators, self.device, "d")
        column = lambda key: [getattr(c, key) for c in self.configs]   # noqa: E731
        self.opt_d = StackedOptimizer(first.optimizer_d, self.d.parameters(), column("lr_d"),
                                      column("beta1"), column("beta2"))
        self.opt_g = StackedOptimizer(first.optimizer_g, self.g.parameters(), column("lr_g"),
                                      column("beta1"), column("beta2"))
        self.data_rngs = [torch.Generator().manual_seed(c.seed) for c in self.configs]
        self.noise_rngs = [torch.Generator(self.device).manual_seed(c.seed + 1) for c in self.configs]
        self.real_target = torch.tensor([[1.0 - c.label_smoothing] for c in self.configs], device=self.device)
        self._fixed_z = [torch.empty(0, first.z_dim) for _ in self.configs]

    # --- member-wise draws (each member's own generator, in Trainer's order) ---------------
    def _stack(self, draw) -> torch.Tensor:
        """torch.stack of draw(k) over members; diverged members get zeros and draw nothing."""
        rows = [draw(k) if not self.diverged[k] else None for k in range(self.size)]
        like = next((r for r in rows if r is not None), None)
        if like is None:
            return None
        return torch.stack([r if r is not None else torch.zeros_like(like) for r in rows]).to(self.device)

    def _real_batch(self) -> torch.Tensor:
        batch = self.configs[0].batch_size
        return self._stack(lambda k: self.dataset.sample(batch, self.data_rngs[k]))   # (K, B, *shape)

    def _noise(self) -> torch.Tensor:
        size = (self.configs[0].batch_size, self.configs[0].z_dim)
        return self._stack(lambda k: torch.randn(size, generator=self.noise_rngs[k], device=self.device))

    def _instance_noise(self, x: torch.Tensor) -> torch.Tensor:
        """x + std_k * N(0, 1) per member (losses.add_instance_noise); std 0 draws nothing."""
        stds = [c.instance_noise if not self.diverged[k] else 0.0 for k, c in enumerate(self.configs)]
        if not any(s > 0 for s in stds):
            return x
        shape = x.shape[1:]
        noise = torch.stack([torch.randn(shape, generator=self.noise_rngs[k], device=self.device)
                             if s > 0 else torch.zeros(shape, device=self.device) for k, s in enumerate(stds)])
        return x + per_member(stds, x) * noise

    # --- live edits ---------------------------------------------------------------------------
    def apply(self, k: int, **changes) -> TrainConfig:
        """Change member k's live keys between steps (Trainer.apply for one member): rates and
        betas go into its optimizer slots, penalties and tricks are read from its config at
        every step. A shape key (d_steps, g_steps, batch_size) changed is a ValueError: members
        of one ensemble share it (split with member_trainer). A refused edit changes nothing."""
        check_live(changes)
        config = self.configs[k].replace(**changes)
        shaped = [key for key in SHAPE_KEYS if getattr(config, key) != getattr(self.configs[k], key)]
        if shaped:
            raise ValueError(f"{', '.join(shaped)} is shared by the ensemble's members: "
                             "go on with member_trainer(k) to change it for one member")
        self.configs[k] = config
        self.opt_d.set_member(k, config.lr_d, config.beta1, config.beta2)
        self.opt_g.set_member(k, config.lr_g, config.beta1, config.beta2)
        with torch.no_grad():
            self.real_target[k, 0] = 1.0 - config.label_smoothing
        return config

    def _member_weights(self, key: str, scale: float = 1.0) -> list[float] | None:
        weights = [scale * getattr(c, key) for c in self.configs]
        return weights if any(w > 0 for w in weights) else None

    # --- one update of each network (Trainer.d_update / g_update, for K members at once) ------
    def _discriminate(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, B) logits of real and fake, in two calls as Trainer makes them. One call on both
        halves would be faster but sums D's gradients in another order, and where real and fake
        terms cancel exactly (a bias under a loss linear in the logits), Adam's first step turns
        that rounding noise into a full lr-sized step: the member would leave its Trainer."""
        return self.d(real), self.d(fake)

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, lambdas: list[float]) -> torch.Tensor:
        """(K,) WGAN-GP penalty (losses.gradient_penalty per member); members with lambda 0 draw nothing."""
        eps_shape = (real.shape[1],) + (1,) * (real.dim() - 2)
        eps = torch.stack([torch.rand(eps_shape, generator=self.noise_rngs[k], device=self.device)
                           if w > 0 and not self.diverged[k] else torch.full(eps_shape, 0.5, device=self.device)
                           for k, w in enumerate(lambdas)])                   # (K, B, 1, ...)
        saved = [b.clone() for b in self.d.buffers.values()] if not all(w > 0 for w in lambdas) else None
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.d(mixed).sum(), mixed, create_graph=True)
        if saved:    # a Trainer without the penalty makes no third D call: no power iteration
            skip = torch.tensor([w <= 0 for w in lambdas], device=self.device)
            for buffer, before in zip(self.d.buffers.values(), saved):
                buffer.copy_(torch.where(skip.view(-1, 1), before, buffer))
        return ((grad.flatten(2).norm(dim=2) - 1.0) ** 2).mean(1)

    def _d_update(self, keep_fake: bool) -> dict[str, torch.Tensor]:
        """One D update of every member; (K,) statistics, plus the fakes with G's graph if kept."""
        real = self._real_batch()                                              # (K, B, *shape)
        with torch.set_grad_enabled(keep_fake):
            kept = self.g(self._noise())                                       # (K, B, *shape)
        real = self._instance_noise(real)
        fake = self._instance_noise(kept.detach())
        r1 = self._member_weights("r1_gamma", 0.5)
        gp = self._member_weights("gp_lambda") if self.loss.gradient_penalty else None
        if r1:
            real.requires_grad_(True)
        real_logits, fake_logits = self._discriminate(real, fake)
        d_loss = MEMBER_D_LOSS[self.configs[0].loss](real_logits, fake_logits, self.real_target)  # (K,)
        objective = d_loss
        if gp:
            objective = objective + per_member(gp, d_loss) * self._gradient_penalty(real, fake, gp)
        if r1:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            objective = objective + per_member(r1, d_loss) * grad.flatten(2).pow(2).sum(2).mean(1)
        grads = torch.autograd.grad(objective.sum(), self.d.parameters())
        self.opt_d.step(grads)
        if self.loss.clip_weights:
            clip = [c.clip if c.clip > 0 else math.inf for c in self.configs]
            with torch.no_grad():
                for p in self.d.parameters():
                    bound = per_member(clip, p)
                    p.clamp_(min=-bound, max=bound)
        stats = {"d_loss": d_loss.detach(),
                 "d_real": self.loss.prob(real_logits.detach()).mean(1),
                 "d_fake": self.loss.prob(fake_logits.detach()).mean(1),
                 "grad_norm_d": grad_norms(grads),
                 "score_real": real_logits.detach().mean(1), "score_fake": fake_logits.detach().mean(1)}
        return {**stats, "fake": kept} if keep_fake else stats

    def _g_update(self, fake: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """One G update of every member on `fake` = G(z) with its graph (new fakes if None)."""
        if fake is None:
            fake = self.g(self._noise())
        fake_logits = self.d(self._instance_noise(fake))                       # (K, B)
        g_loss = MEMBER_G_LOSS[self.configs[0].loss](fake_logits)              # (K,)
        grads = torch.autograd.grad(g_loss.sum(), self.g.parameters())
        self.opt_g.step(grads)
        return {"g_loss": g_loss.detach(), "grad_norm_g": grad_norms(grads)}

    # --- the training step ---------------------------------------------------------------
    def step(self) -> list[StepStats]:
        """d_steps D updates then g_steps G updates of every member; one StepStats each.

        A member whose numbers went non-finite keeps its weights from then on (its slices are
        put back after each step) and keeps returning its last stats, as a diverged Trainer does.
        """
        frozen = [k for k in range(self.size) if self.diverged[k]]
        if len(frozen) == self.size:
            return list(self.last_stats)
        saved = [t[frozen].clone() for t in self._all_state()] if frozen else None
        d_steps, g_steps = self.configs[0].d_steps, self.configs[0].g_steps
        values: dict[str, torch.Tensor] = {}
        for index in range(d_steps):
            values.update(self._d_update(keep_fake=g_steps > 0 and index == d_steps - 1))
        for _ in range(g_steps):
            values.update(self._g_update(values.pop("fake", None)))
        if saved:
            with torch.no_grad():
                for tensor, before in zip(self._all_state(), saved):
                    tensor[frozen] = before
        self.step_count += 1
        names = STAT_NAMES + SCORE_NAMES
        numbers = torch.stack([values[name] for name in names]).tolist()         # (stats, K)
        for k in range(self.size):
            if not self.diverged[k]:
                self._record(k, {name: row[k] for name, row in zip(names, numbers)})
        return list(self.last_stats)

    def _record(self, k: int, stats: dict[str, float]) -> None:
        finite = all(math.isfinite(v) for v in stats.values())
        self.last_stats[k] = StepStats(step=self.step_count, finite=finite, **stats)
        self.diverged[k] = not finite

    def _all_state(self) -> list[torch.Tensor]:
        """Every per-member tensor that a step changes: weights, SN vectors, optimizer slots."""
        slots = [s for state in self.opt_d.state + self.opt_g.state for s in state]
        return self.g.all_tensors() + self.d.all_tensors() + slots

    # --- samples and members -----------------------------------------------------------------
    def fixed_z(self, k: int, count: int) -> torch.Tensor:
        """Member k's fixed latent rows, exactly Trainer.fixed_z (seed + 2, cached the same way)."""
        if self._fixed_z[k].shape[0] < count:
            rng = torch.Generator().manual_seed(self.configs[k].seed + 2)
            self._fixed_z[k] = torch.randn(max(count, 64), self.configs[k].z_dim, generator=rng)
        return self._fixed_z[k][:count]

    @torch.no_grad()
    def sample(self, k: int, count: int) -> torch.Tensor:
        """Member k's G on its fixed latent batch: (count, *data shape) on CPU, like Trainer.sample."""
        return self.g(self.fixed_z(k, count).to(self.device), member=k).float().cpu()

    @torch.no_grad()
    def samples(self, count: int) -> torch.Tensor:
        """Every member's sample(k, count) in one batched forward: (K, count, *data shape)."""
        z = torch.stack([self.fixed_z(k, count) for k in range(self.size)]).to(self.device)
        return self.g(z).float().cpu()

    def generator_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's G as the state_dict of the MLPGenerator that Trainer(configs[k]) holds."""
        return self.g.member_state(k)

    def discriminator_state(self, k: int) -> dict[str, torch.Tensor]:
        return self.d.member_state(k)

    def member_trainer(self, k: int) -> Trainer:
        """A Trainer in member k's exact state (weights, optimizer, RNG streams, step count):
        stepping it goes on as the member would (open a sweep's cell in the app, say)."""
        trainer = Trainer(self.configs[k], dataset=self.dataset)
        trainer.generator.load_state_dict(self.generator_state(k))
        trainer.discriminator.load_state_dict(self.discriminator_state(k))
        for optimizer, stacked, module in ((trainer.opt_g, self.opt_g, trainer.generator),
                                           (trainer.opt_d, self.opt_d, trainer.discriminator)):
            if stacked.steps:
                for param, state in zip(module.parameters(), stacked.member_state(k)):
                    optimizer.state[param] = state
        trainer.data_rng.set_state(self.data_rngs[k].get_state())
        trainer.noise_rng.set_state(self.noise_rngs[k].get_state())
        trainer.step_count, trainer.diverged = self.step_count, self.diverged[k]
        trainer.last_stats = self.last_stats[k]
        trainer._good_state = trainer._copy_state()
        return trainer


class LoopedEnsemble(Ensemble):
    """The Ensemble API over K plain Trainers stepped in turn: the fallback for the DCGAN."""

    @property
    def vectorised(self) -> bool:
        return False

    def _build(self) -> None:
        self.trainers = [Trainer(config, dataset=self.dataset) for config in self.configs]

    def apply(self, k: int, **changes) -> TrainConfig:
        """Trainer.apply on member k; any live key, shape keys included (they are not shared here)."""
        self.configs[k] = self.trainers[k].apply(**changes)
        return self.configs[k]

    def step(self) -> list[StepStats]:
        self.last_stats = [trainer.step() for trainer in self.trainers]
        self.diverged = [trainer.diverged for trainer in self.trainers]
        self.step_count += 1
        return list(self.last_stats)

    def fixed_z(self, k: int, count: int) -> torch.Tensor:
        return self.trainers[k].fixed_z(count)

    def sample(self, k: int, count: int) -> torch.Tensor:
        return self.trainers[k].sample(count)

    def samples(self, count: int) -> torch.Tensor:
        return torch.stack([trainer.sample(count) for trainer in self.trainers])

    def generator_state(self, k: int) -> dict[str, torch.Tensor]:
        return {name: t.detach().clone() for name, t in self.trainers[k].generator.state_dict().items()}

    def discriminator_state(self, k: int) -> dict[str, torch.Tensor]:
        return {name: t.detach().clone() for name, t in self.trainers[k].discriminator.state_dict().items()}

    def member_trainer(self, k: int) -> Trainer:
        return self.trainers[k]



__all__ = ["Ensemble", "LoopedEnsemble", "MEMBER_D_LOSS", "MEMBER_G_LOSS", "SCORE_NAMES", "SHAPE_KEYS",
           "StackedMLP", "StackedOptimizer", "group_by_shape", "shape_key"]
