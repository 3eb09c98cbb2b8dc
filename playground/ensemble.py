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
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .budget import check_budget
from .config import TrainConfig
from .data import Dataset, make_dataset
from .losses import LOSSES
from . import trainer as _trainer
from .models import build_models
from .trainer import STAT_NAMES, StepStats, Trainer, resolve_device

# Raw mean D outputs, where the Trainer reports them (StepStats.score_real / score_fake).
SCORE_NAMES = tuple(getattr(_trainer, "SCORE_NAMES", ()))

# Keys that fix the tensors' shapes and the step's structure: one ensemble, one value.
SHAPE_KEYS = ("arch", "dataset", "width", "depth", "z_dim", "image_size", "loss", "batch_size",
              "d_steps", "g_steps", "spectral_norm", "optimizer_d", "optimizer_g", "device",
              "data_path", "data_root")
SN_EPS = 1e-12                # torch's spectral_norm eps
ADAM_EPS = 1e-8               # torch.optim.Adam / RMSprop defaults
RMSPROP_ALPHA = 0.99


def shape_key(config: TrainConfig) -> tuple:
    return tuple(getattr(config, key) for key in SHAPE_KEYS)


def group_by_shape(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """Indices of `configs` grouped by SHAPE_KEYS (first-seen order): one ensemble per group."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(shape_key(config), []).append(index)
    return list(groups.values())


def _per_member(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """(K,) numbers as a float tensor shaped (K, 1, ...) to broadcast against `like`."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *[1] * (like.dim() - 1))


# --- per-member losses: losses.LOSSES on (K, B) logits, one value per member -------------------
# Each objective of losses.py is a sum of batch means, so "mean over dim 1" is the per-member
# version; tests/test_ensemble.py checks every entry against LOSSES member by member.
def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target.expand_as(logits), reduction="none").mean(1)


MEMBER_D_LOSS = {   # (real (K, B), fake (K, B), real_target (K, 1)) -> (K,)
    "minimax": lambda r, f, t: _bce(r, t) + _bce(f, torch.zeros_like(t)),
    "nonsaturating": lambda r, f, t: _bce(r, t) + _bce(f, torch.zeros_like(t)),
    "lsgan": lambda r, f, t: 0.5 * ((r - t) ** 2).mean(1) + 0.5 * (f ** 2).mean(1),
    "wgan": lambda r, f, t: f.mean(1) - r.mean(1),
    "wgan_gp": lambda r, f, t: f.mean(1) - r.mean(1),
    "hinge": lambda r, f, t: F.relu(1.0 - r).mean(1) + F.relu(1.0 + f).mean(1),
}
MEMBER_G_LOSS = {   # fake (K, B) -> (K,)
    "minimax": lambda f: -F.softplus(f).mean(1),
    "nonsaturating": lambda f: F.softplus(-f).mean(1),
    "lsgan": lambda f: 0.5 * ((f - 1.0) ** 2).mean(1),
    "wgan": lambda f: -f.mean(1),
    "wgan_gp": lambda f: -f.mean(1),
    "hinge": lambda f: -f.mean(1),
}


# --- K MLPs as stacked tensors ---------------------------------------------------------------
class StackedMLP:
    """K MLPGenerator / MLPDiscriminator modules of one shape as (K, ...) tensors.

    `params` and `buffers` are keyed by the modules' own state_dict names, so slice k of each is
    member k's state_dict. Spectral norm repeats torch's parametrization: one power iteration
    per forward on the stored u, v, then weight / (u . W v).
    """

    def __init__(self, modules: Sequence[nn.Module], device: torch.device, kind: str, out_shape=()):
        template = modules[0]
        self.kind, self.out_shape = kind, tuple(out_shape)       # kind: "g" or "d"
        self.params = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in modules])
                       .to(device).requires_grad_(True) for name, _ in template.named_parameters()}
        self.buffers = {name: torch.stack([dict(m.named_buffers())[name] for m in modules]).to(device)
                        for name, _ in template.named_buffers()}
        self.layers = []                                          # (weight name, bias name, spectral)
        for index, layer in enumerate(template.net):
            if isinstance(layer, nn.Linear):
                spectral = hasattr(layer, "parametrizations")
                weight = f"net.{index}.parametrizations.weight.original" if spectral else f"net.{index}.weight"
                self.layers.append((weight, f"net.{index}.bias", spectral))
        self.tanh = isinstance(template.net[-1], nn.Tanh)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def _spectral(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        prefix = name.rsplit(".original", 1)[0] + ".0."
        u, v = self.buffers[prefix + "_u"], self.buffers[prefix + "_v"]      # (K, out), (K, in)
        with torch.no_grad():
            u.copy_(F.normalize(torch.bmm(weight, v.unsqueeze(2)).squeeze(2), dim=1, eps=SN_EPS))
            v.copy_(F.normalize(torch.bmm(weight.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=SN_EPS))
        # Clones, as torch's: the next forward updates u, v in place, and backward needs these.
        u, v = u.clone(), v.clone()
        sigma = (u * torch.bmm(weight, v.unsqueeze(2)).squeeze(2)).sum(1)       # (K,)
        return weight / sigma.view(-1, 1, 1)

    def __call__(self, x: torch.Tensor, member: int | None = None) -> torch.Tensor:
        """(K, N, *in_shape) -> G: (K, N, *out_shape), D: (K, N) logits.

        With `member` (G only: D's power iteration updates every member): (N, *in) -> (N, *out).
        """
        pick = (lambda t: t) if member is None else (lambda t: t[member:member + 1])
        h = (x if member is None else x.unsqueeze(0)).flatten(2)                 # (K, N, in)
        last = len(self.layers) - 1
        for index, (weight_name, bias_name, spectral) in enumerate(self.layers):
            weight = pick(self.params[weight_name])                             # (K, out, in)
            if spectral:
                weight = self._spectral(weight_name, weight)
            h = torch.baddbmm(pick(self.params[bias_name]).unsqueeze(1), h, weight.transpose(1, 2))
            if index < last:
                h = F.relu(h) if self.kind == "g" else F.leaky_relu(h, 0.2)
        if self.kind == "d":
            h = h.squeeze(2)                                                    # (K, N)
        else:
            h = (torch.tanh(h) if self.tanh else h).view(*h.shape[:2], *self.out_shape)
        return h if member is None else h[0]

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's state_dict (the names of the module it was stacked from)."""
        return {name: t[k].detach().clone() for name, t in {**self.params, **self.buffers}.items()}

    def all_tensors(self) -> list[torch.Tensor]:
        return [*self.params.values(), *self.buffers.values()]


class StackedOptimizer:
    """torch.optim's single-tensor Adam / RMSprop / SGD maths on stacked (K, ...) parameters.

    Rates and betas are per member; the order of floating-point operations follows torch's
    kernels (lerp for Adam's first moment, (value * a) / b for addcdiv), so member k tracks a
    lone torch.optim optimizer to rounding (~1e-7 relative after 5 steps in the tests).
    """

    def __init__(self, kind: str, params: list[torch.Tensor], lr, beta1, beta2):
        self.kind, self.params = kind, params
        self.lr, self.beta1, self.beta2 = list(lr), list(beta1), list(beta2)
        self.steps = 0
        slots = {"adam": 2, "rmsprop": 1, "sgd": 0}[kind]
        self.state = [[torch.zeros_like(p) for _ in range(slots)] for p in params]
        self._values = {"neg_lr": [-v for v in self.lr], "1-b1": [1 - b for b in self.beta1],
                        "b2": self.beta2, "1-b2": [1 - b for b in self.beta2]}
        self._columns: dict[tuple[str, int], torch.Tensor] = {}

    def _column(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """self._values[name] as a (K, 1, ...) tensor shaped for `like`, made once per rank."""
        key = (name, like.dim())
        if key not in self._columns:
            self._columns[key] = _per_member(self._values[name], like)
        return self._columns[key]

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        self.steps += 1
        n = self.steps
        # Adam's bias corrections in Python floats, as torch computes them, one per member.
        self._values["step"] = [-lr / (1 - b1 ** n) for lr, b1 in zip(self.lr, self.beta1)]
        self._values["bc2"] = [(1 - b2 ** n) ** 0.5 for b2 in self.beta2]
        self._columns = {k: v for k, v in self._columns.items() if k[0] not in ("step", "bc2")}
        with torch.no_grad():
            for param, grad, state in zip(self.params, grads, self.state):
                if self.kind == "adam":
                    exp_avg, exp_avg_sq = state
                    exp_avg.lerp_(grad, self._column("1-b1", param))
                    exp_avg_sq.mul_(self._column("b2", param)).add_(grad.mul(self._column("1-b2", param)).mul_(grad))
                    denom = (exp_avg_sq.sqrt() / self._column("bc2", param)).add_(ADAM_EPS)
                    param.add_(exp_avg.mul(self._column("step", param)).div_(denom))
                elif self.kind == "rmsprop":
                    square_avg = state[0]
                    square_avg.mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
                    avg = square_avg.sqrt().add_(ADAM_EPS)
                    param.add_(grad.mul(self._column("neg_lr", param)).div_(avg))
                else:
                    param.add_(grad.mul(self._column("neg_lr", param)))

    def member_state(self, k: int) -> list[dict]:
        """torch.optim state for member k, one dict per parameter (load into a Trainer's optimizer)."""
        names = {"adam": ("exp_avg", "exp_avg_sq"), "rmsprop": ("square_avg",), "sgd": ()}[self.kind]
        if self.kind == "sgd":
            return [{} for _ in self.params]
        return [{"step": torch.tensor(float(self.steps)),
                 **{name: slot[k].detach().clone() for name, slot in zip(names, state)}}
                for state in self.state]


def _grad_norms(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """(K,) L2 norm over all of a member's gradients (torch.nn.utils.get_total_norm per member)."""
    return torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)


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
        return x + _per_member(stds, x) * noise

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
            objective = objective + _per_member(gp, d_loss) * self._gradient_penalty(real, fake, gp)
        if r1:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            objective = objective + _per_member(r1, d_loss) * grad.flatten(2).pow(2).sum(2).mean(1)
        grads = torch.autograd.grad(objective.sum(), self.d.parameters())
        self.opt_d.step(grads)
        if self.loss.clip_weights:
            clip = [c.clip if c.clip > 0 else math.inf for c in self.configs]
            with torch.no_grad():
                for p in self.d.parameters():
                    bound = _per_member(clip, p)
                    p.clamp_(min=-bound, max=bound)
        stats = {"d_loss": d_loss.detach(),
                 "d_real": self.loss.prob(real_logits.detach()).mean(1),
                 "d_fake": self.loss.prob(fake_logits.detach()).mean(1),
                 "grad_norm_d": _grad_norms(grads),
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
        return {"g_loss": g_loss.detach(), "grad_norm_g": _grad_norms(grads)}

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
