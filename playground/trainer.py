"""Trainer: one GAN (two networks, two optimizers) and its training step.

It knows nothing of the UI, of threads or of what the samples mean: a step in, numbers out.

    trainer = Trainer(load_preset("ring_stable").replace(seed=1))
    stats = trainer.step()        # d_steps D updates, then g_steps G updates
    trainer.apply(lr_d=1e-3)      # live edit between steps; optimizer state kept
    points = trainer.sample(2000) # generator output on a fixed latent batch
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from .budget import EVAL_CHUNK, LIVE_SIZE_KEYS, check_budget
from .config import OPTIMIZER_CHOICES, ConfigError, TrainConfig, check_live
from .data import Dataset, make_dataset
from .losses import LOSSES, add_instance_noise, gradient_penalty, r1_penalty
from .models import build_models

GOOD_STATE_EVERY = 50   # steps between copies of the last finite weights (cheap: a state_dict copy)
STAT_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")
# Raw mean D outputs. For a critic (WGAN, WGAN-GP, hinge) these are what D's numbers mean: its
# scores, whose gap E[D(x)] - E[D(G(z))] estimates the Wasserstein distance. The probabilities
# above are sigmoids of them, which sit at 0 or 1 for a critic and say nothing.
SCORE_NAMES = ("score_real", "score_fake")



@dataclass(frozen=True)
class StepStats:
    """What one training step measured. d_real / d_fake are D's outputs read as probabilities."""

    step: int
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float
    grad_norm_d: float
    grad_norm_g: float
    finite: bool = True
    score_real: float = math.nan          # mean raw D(x)
    score_fake: float = math.nan          # mean raw D(G(z))

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device(name)


def set_threads(count: int) -> None:
    """Intra-op threads for this process. Small GAN steps are often fastest on 1 (bench/RESULTS.md)."""
    torch.set_num_threads(max(1, int(count)))


# kind -> factory(params, lr, beta1, beta2). Only Adam reads the betas; apply() pushes new
# betas into any param group that has them, so the other two simply ignore those knobs.
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, lr, beta1, beta2: torch.optim.Adam(params, lr=lr, betas=(beta1, beta2)),
    "sgd": lambda params, lr, beta1, beta2: torch.optim.SGD(params, lr=lr),
    "rmsprop": lambda params, lr, beta1, beta2: torch.optim.RMSprop(params, lr=lr),
}
assert tuple(OPTIMIZERS) == OPTIMIZER_CHOICES, "OPTIMIZERS must match config.OPTIMIZER_CHOICES"


def make_optimizer(kind: str, params, lr: float, beta1: float, beta2: float,
                    key: str = "optimizer") -> torch.optim.Optimizer:
    """The optimizer named `kind`; an unknown kind is a ConfigError, never a silent SGD."""
    factory = OPTIMIZERS.get(kind)
    if factory is None:
        raise ConfigError(key, kind, f"one of {tuple(OPTIMIZERS)}")
    return factory(params, lr, beta1, beta2)


def _grad_norm(optimizer: torch.optim.Optimizer) -> torch.Tensor:
    # The optimizer's parameter list is already flat: cheaper than walking the module tree.
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


class Trainer:
    """A GAN being trained. Same config (seed) on CPU -> the same numbers, step for step."""

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None):
        self.config = config
        self.device = resolve_device(config.device)
        self.dataset = dataset if dataset is not None else make_dataset(config)
        self.loss = LOSSES[config.loss]
        check_budget(config, self.dataset.shape)    # refuse before allocating, not after
        # Construction draws from torch's global RNG (default inits, spectral-norm vectors):
        # seed it inside fork_rng. Callers building from several threads serialise builds
        # (worker.py holds BUILD_LOCK), so the core itself knows nothing of threads.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            generator, discriminator = build_models(
                config.arch, self.dataset.shape, config.z_dim, config.width, config.depth,
                spectral_norm=config.spectral_norm, critic_batch_norm=self.loss.critic_batch_norm)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.opt_d = make_optimizer(config.optimizer_d, self.discriminator.parameters(),
                                     config.lr_d, config.beta1, config.beta2)
        self.opt_g = make_optimizer(config.optimizer_g, self.generator.parameters(),
                                     config.lr_g, config.beta1, config.beta2)
        # Separate streams so a run never depends on another thread's use of the global RNG.
        self.data_rng = torch.Generator().manual_seed(config.seed)
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        self.step_count = 0
        self.diverged = False
        self.last_stats: StepStats | None = None
        self._fixed_z = torch.empty(0, config.z_dim)
        self._good_state = self._copy_state()

    # --- one update of each network -------------------------------------------------------
    def _real_batch(self) -> torch.Tensor:
        return self.dataset.sample(self.config.batch_size, self.data_rng).to(self.device, non_blocking=True)

    def _noise(self, count: int) -> torch.Tensor:
        return torch.randn(count, self.config.z_dim, generator=self.noise_rng, device=self.device)

    def draw_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next real batch (B, *shape) and latent batch (B, z_dim) from the run's own streams:
        what d_update draws when it is not handed a batch (explain.py draws it to show it)."""
        real = self._real_batch()
        return real, self._noise(real.shape[0])

    def d_update(self, keep_fake: bool = False,
                 batch: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """One discriminator update; returns its statistics as 0-d tensors (no device sync).

        With keep_fake, the fakes are made with autograd on and returned under "fake", so the
        G update that follows can reuse them instead of running G again (as the DCGAN example
        does). G has not changed in between, so G's gradient through them is exact.
        `batch` = (real, z) from draw_batch(); None draws it here (the same numbers either way).
        """
        ############################
        # (1) Update D: push D(x) up on real data and D(G(z)) down on fakes
        ############################
        cfg = self.config
        real, z = self.draw_batch() if batch is None else batch
        with torch.set_grad_enabled(keep_fake):
            kept = self.generator(z)
        real = add_instance_noise(real, cfg.instance_noise, self.noise_rng)
        fake = add_instance_noise(kept.detach(), cfg.instance_noise, self.noise_rng)
        if cfg.r1_gamma > 0:
            real.requires_grad_(True)
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake)
        d_loss = self.loss.d_loss(real_logits, fake_logits, 1.0 - cfg.label_smoothing)
        objective = d_loss
        if self.loss.gradient_penalty and cfg.gp_lambda > 0:
            objective = objective + cfg.gp_lambda * gradient_penalty(self.discriminator, real, fake, self.noise_rng)
        if cfg.r1_gamma > 0:
            objective = objective + 0.5 * cfg.r1_gamma * r1_penalty(real_logits, real)
        self.opt_d.zero_grad(set_to_none=True)
        objective.backward()
        self.opt_d.step()
        if self.loss.clip_weights and cfg.clip > 0:
            with torch.no_grad():
                for p in self.discriminator.parameters():
                    p.clamp_(-cfg.clip, cfg.clip)
        stats = {"d_loss": d_loss.detach(),
                 "d_real": self.loss.prob(real_logits.detach()).mean(),
                 "d_fake": self.loss.prob(fake_logits.detach()).mean(),
                 "grad_norm_d": _grad_norm(self.opt_d),
                 "score_real": real_logits.detach().mean(), "score_fake": fake_logits.detach().mean()}
        return {**stats, "fake": kept} if keep_fake else stats

    def g_update(self, fake: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One generator update (on `fake` = G(z) with its graph, if given); returns 0-d tensors."""
        ############################
        # (2) Update G: make D call the fakes real (the objective depends on the loss)
        ############################
        if fake is None:
            fake = self.generator(self._noise(self.config.batch_size))
        fake_logits = self.discriminator(add_instance_noise(fake, self.config.instance_noise, self.noise_rng))
        g_loss = self.loss.g_loss(fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        # D's gradients from this backward pass are never used: drop them now so they cannot
        # leak into D's next update (D zeroes its grads anyway; this frees the memory early).
        self.discriminator.zero_grad(set_to_none=True)
        return {"g_loss": g_loss.detach(), "grad_norm_g": _grad_norm(self.opt_g)}

    # --- the training step ---------------------------------------------------------------
    def step(self, d_steps: int | None = None, g_steps: int | None = None) -> StepStats:
        """d_steps D updates then g_steps G updates (defaults from the config).

        Pass d_steps=1, g_steps=0 (or the reverse) for the UI's one-network steps. Once a loss or
        gradient is non-finite the trainer stops changing: later calls return the last stats.
        """
        if self.diverged:
            return self.last_stats
        d_steps = self.config.d_steps if d_steps is None else d_steps
        g_steps = self.config.g_steps if g_steps is None else g_steps
        values: dict[str, torch.Tensor] = {}
        for index in range(d_steps):
            values.update(self.d_update(keep_fake=g_steps > 0 and index == d_steps - 1))
        for _ in range(g_steps):
            values.update(self.g_update(values.pop("fake", None)))
        return self.count_step(values)

    def count_step(self, values: dict[str, torch.Tensor]) -> StepStats:
        """Close a step made of d_update / g_update calls whose statistics are `values`, as
        step() does: the step number, its StepStats, divergence, the last good weights."""
        self.step_count += 1
        previous = self.last_stats.to_dict() if self.last_stats else {}
        numbers = dict(zip(values, torch.stack(list(values.values())).tolist())) if values else {}
        stats = {name: numbers.get(name, previous.get(name, math.nan))
                 for name in STAT_NAMES + SCORE_NAMES}
        finite = all(math.isfinite(numbers[name]) for name in numbers)
        self.last_stats = StepStats(step=self.step_count, finite=finite, **stats)
        if not finite:
            self.diverged = True
        elif self.step_count % GOOD_STATE_EVERY == 0:
            self._good_state = self._copy_state()
        return self.last_stats

    # --- live edits, sampling, recovery --------------------------------------------------
    def check_live(self, changes: dict) -> None:
        """ConfigError unless `changes` can be applied now: live keys, valid values, and a
        size (batch, a penalty's extra pass) within the same memory budget a fresh run of it
        would have to meet."""
        check_live(changes)
        candidate = self.config.replace(**changes)
        self._loss_for(candidate)
        if changes.keys() & LIVE_SIZE_KEYS:
            check_budget(candidate, self.dataset.shape)   # meta tensors: no memory, some milliseconds

    def _loss_for(self, config: TrainConfig):
        """The Loss of `config`. The loss is live, except where the new one needs a DCGAN
        discriminator built another way (wgan_gp's has no BatchNorm): that needs a reset."""
        loss = LOSSES[config.loss]
        if config.arch == "dcgan" and loss.critic_batch_norm != self.loss.critic_batch_norm:
            raise ConfigError("loss", config.loss, "a reset (its DCGAN discriminator is built "
                              "with a different BatchNorm setting)")
        return loss

    def apply(self, **changes) -> TrainConfig:
        """Change live keys (learning rates, step ratio, penalties...) between steps.

        A change that sizes the run meets the budget check of check_live (the one the session
        makes first), with the same message as a fresh build; a refused change changes nothing.
        """
        self.check_live(changes)
        self.config = self.config.replace(**changes)
        self.loss = self._loss_for(self.config)        # read at every step, like the rates
        for optimizer, lr in ((self.opt_d, self.config.lr_d), (self.opt_g, self.config.lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = (self.config.beta1, self.config.beta2)
        return self.config

    def fixed_z(self, count: int) -> torch.Tensor:
        """The first `count` rows of a latent batch fixed by the seed, so snapshots compare over time."""
        if self._fixed_z.shape[0] < count:
            rng = torch.Generator().manual_seed(self.config.seed + 2)
            self._fixed_z = torch.randn(max(count, 64), self.config.z_dim, generator=rng)
        return self._fixed_z[:count]

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) on CPU, in eval mode (BatchNorm running statistics: one sample never depends on another).

        EVAL_CHUNK rows at a time: 2000 samples of a 64x64 DCGAN in one pass took +1.9 GB of
        activations; in chunks the pass is bounded (budget.py counts one chunk), and eval mode
        means chunking does not change the numbers.
        """
        out = torch.empty((z.shape[0], *self.dataset.shape))
        was_training = self.generator.training
        self.generator.eval()
        try:
            for start in range(0, z.shape[0], EVAL_CHUNK):
                rows = z[start:start + EVAL_CHUNK].to(self.device)
                out[start:start + EVAL_CHUNK] = self.generator(rows).float().cpu()
        finally:
            self.generator.train(was_training)
        return out

    def sample(self, count: int) -> torch.Tensor:
        """Generator output for the fixed latent batch: (count, *data shape) on CPU."""
        return self.generate(self.fixed_z(count))

    def _copy_state(self) -> dict:
        return {"g": copy.deepcopy(self.generator.state_dict()),
                "d": copy.deepcopy(self.discriminator.state_dict()),
                "opt_g": copy.deepcopy(self.opt_g.state_dict()),
                "opt_d": copy.deepcopy(self.opt_d.state_dict())}

    def restore_last_good(self) -> None:
        """Back to the last weights saved while every number was finite; training can go on."""
        state = self._good_state
        self.generator.load_state_dict(state["g"])
        self.discriminator.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.apply()   # the saved optimizer state carries old learning rates; keep the live ones
        self.diverged = False
