"""The GAN Lab view of a 2D GAN, as plain arrays: D's heatmap, G's gradient arrows, G's manifold.

Computed from a Trainer between steps (it reads the networks in eval mode; it never changes them):
    field_view(trainer, fake) -> {"xs", "ys", "d", "arrows"}   and   manifold(trainer) -> (k, k, 2)
"""
from __future__ import annotations

import numpy as np
import torch

ARROW_COUNT = 64         # enough to see the flow, few enough to keep the chart payload small


def extent_of(real: np.ndarray, margin: float = 1.2) -> float:
    """Half-width of a square view centred on the origin that holds the real data."""
    finite = real[np.isfinite(real).all(axis=1)]
    return float(np.abs(finite).max() * margin) if len(finite) else 1.0


def field_view(trainer, fake: torch.Tensor, extent: float, grid: int = 40) -> dict:
    """D's probability on a grid over [-extent, extent]^2, and G's gradient arrows on some fakes.

    An arrow points where the generator's loss wants that fake to move (minus the gradient of
    g_loss w.r.t. the point); lengths are relative to the largest arrow, so the picture shows
    where the pull is strong and where it has vanished.
    """
    device = trainer.device
    discriminator = trainer.discriminator
    # Eval mode: a spectral-normed D would otherwise run a power iteration (changing its u, v
    # buffers) and a BatchNorm D would update its running statistics: a render must never
    # change the run, or an app run would no longer equal the CLI run of the same seed.
    was_training = discriminator.training
    discriminator.eval()
    try:
        return _field(trainer, discriminator, fake, extent, grid, device)
    finally:
        discriminator.train(was_training)


def _field(trainer, discriminator, fake: torch.Tensor, extent: float, grid: int, device) -> dict:
    axis = torch.linspace(-extent, extent, grid)
    grid_y, grid_x = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(device)
    critic = trainer.loss.critic
    with torch.no_grad():
        scores = discriminator(points).view(grid, grid).float()
        # A critic's scores are unbounded and drift as a whole; what it says is where they are
        # high and low. So its heatmap is normalised per frame (0 = lowest score on the view, 1 =
        # highest), while a probability D is shown as it is.
        prob = _normalised(scores) if critic else trainer.loss.prob(scores)
        prob = prob.cpu().numpy()
    chosen = fake[:ARROW_COUNT].to(device).clone().requires_grad_(True)
    # autograd.grad w.r.t. the inputs only: D's parameter gradients are left untouched.
    (grad,) = torch.autograd.grad(trainer.loss.g_loss(discriminator(chosen)), chosen)
    push = -grad.float().cpu().numpy()
    longest = float(np.abs(push).max()) if np.isfinite(push).all() and push.size else 0.0
    push = push / longest * extent * 0.12 if longest > 0 else np.zeros_like(push)
    arrows = np.concatenate([chosen.detach().float().cpu().numpy(), push], axis=1)
    return {"xs": axis.numpy(), "ys": axis.numpy(), "d": prob, "arrows": arrows.astype(np.float32),
            "critic": critic}


def _normalised(scores: torch.Tensor) -> torch.Tensor:
    """Scores rescaled to [0, 1] over the view (a flat landscape becomes 0.5 everywhere)."""
    low, high = scores.min(), scores.max()
    if not torch.isfinite(high - low) or float(high - low) <= 1e-12:
        return torch.full_like(scores, 0.5)
    return (scores - low) / (high - low)


def manifold(trainer, k: int = 15) -> np.ndarray | None:
    """G's image of a regular k x k latent grid over [-2, 2]^2 when z_dim == 2 (else None)."""
    if trainer.config.z_dim != 2:
        return None
    axis = torch.linspace(-2.0, 2.0, k)
    z1, z2 = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.stack([z1.flatten(), z2.flatten()], dim=1)
    return trainer.generate(z).numpy().reshape(k, k, 2)
