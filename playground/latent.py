"""Latent space walks: interpolation between two latent vectors, and axis sweeps. Pure tensors."""
from __future__ import annotations

import torch


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The latent vector (z_dim,) that a seed names: the same seed always gives the same z."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line: (1 - t) z0 + t z1 for each t -> (len(t), z_dim)."""
    t = t.view(-1, 1)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle path (White 2016): stays at the typical norm of a Gaussian z, where G was
    trained, while a straight line dips towards the origin halfway."""
    t = t.view(-1, 1)
    cos = torch.clamp(torch.dot(z0 / z0.norm(), z1 / z1.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:          # (nearly) parallel: slerp degenerates to lerp
        return lerp(z0, z1, t)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


INTERPOLATIONS = {"lerp": lerp, "slerp": slerp}


def interpolate(z0: torch.Tensor, z1: torch.Tensor, frames: int, method: str = "slerp") -> torch.Tensor:
    """`frames` latent vectors from z0 to z1 (both ends included) -> (frames, z_dim)."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"method={method!r} is not allowed: one of {tuple(INTERPOLATIONS)}")
    if frames < 2:
        raise ValueError(f"frames={frames!r} is not allowed: an integer >= 2")
    return INTERPOLATIONS[method](z0, z1, torch.linspace(0.0, 1.0, frames))


def with_dimensions(z: torch.Tensor, values: list[float]) -> torch.Tensor:
    """A copy of z (z_dim,) whose first len(values) coordinates are set (the UI's latent sliders)."""
    z = z.clone()
    count = min(len(values), z.shape[0])
    z[:count] = torch.tensor(values[:count], dtype=z.dtype)
    return z
