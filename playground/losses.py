"""The six GAN objectives behind one signature, and the penalties that stabilise them.

Every loss sees raw discriminator outputs ("logits", shape (N,)):
    d_loss(real_logits, fake_logits, real_target) -> scalar   minimised by D
    g_loss(fake_logits) -> scalar                               minimised by G
    prob(logits) -> D's output read as "probability this is real", for the D(x) / D(G(z)) charts
`real_target` is 1 minus the one-sided label smoothing (Salimans et al. 2016); losses without
labels (WGAN, hinge) ignore it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Loss:
    """One objective: D and G losses, how to read D's output, and what the objective needs."""

    d_loss: Callable[[Tensor, Tensor, float], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    prob: Callable[[Tensor], Tensor] = torch.sigmoid
    clip_weights: bool = False        # WGAN: Lipschitz by clipping D's weights after each update
    gradient_penalty: bool = False    # WGAN-GP: Lipschitz by penalising ||grad D|| != 1
    critic_batch_norm: bool = True    # WGAN-GP's per-sample penalty forbids BatchNorm in D
    critic: bool = False              # D outputs unbounded scores, not probabilities


def _bce_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # -[t log D(x) + (1-t) log(1 - D(x))] - log(1 - D(G(z))), in logits for numerical stability
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_target))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def _minimax_g(fake: Tensor) -> Tensor:
    # The original paper's G objective: minimise log(1 - D(G(z))) = -softplus(logit).
    # Its gradient w.r.t. the logit is -D(G(z)): it vanishes exactly when D wins (D(G(z)) -> 0),
    # which is early in training. That is the lesson of the `saturating_loss` preset.
    return -F.softplus(fake).mean()


def _nonsaturating_g(fake: Tensor) -> Tensor:
    # Goodfellow's fix: maximise log D(G(z)) instead; gradient -(1 - D(G(z))) is large when D wins.
    return F.softplus(-fake).mean()


def _lsgan_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # Least squares (Mao et al. 2017): pull D(x) to 1 (or the smoothed target) and D(G(z)) to 0.
    return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * (fake ** 2).mean()


def _lsgan_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


def _wasserstein_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # Critic estimates W1 = E[D(x)] - E[D(G(z))]; D minimises its negative.
    return fake.mean() - real.mean()


def _wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def _hinge_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # Geometric GAN / SAGAN: D only cares about samples inside the margin.
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def _clamp_prob(outputs: Tensor) -> Tensor:
    # LSGAN's D regresses to the targets 1 (real) and 0 (fake), so its output already reads as
    # a probability; a sigmoid would squash it towards 0.5.
    return outputs.clamp(0.0, 1.0)


LOSSES: dict[str, Loss] = {
    "minimax": Loss(_bce_d, _minimax_g),
    "nonsaturating": Loss(_bce_d, _nonsaturating_g),
    "lsgan": Loss(_lsgan_d, _lsgan_g, prob=_clamp_prob),
    "wgan": Loss(_wasserstein_d, _wasserstein_g, clip_weights=True, critic=True),
    "wgan_gp": Loss(_wasserstein_d, _wasserstein_g, gradient_penalty=True, critic_batch_norm=False,
                    critic=True),
    "hinge": Loss(_hinge_d, _wasserstein_g, critic=True),
}


def gradient_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||^2] on real data; `real` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def add_instance_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """x + N(0, std^2): blurs real and fake alike so their supports overlap (Sønderby et al. 2016)."""
    if std <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device)
    return x + std * noise
