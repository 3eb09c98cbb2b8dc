"""Generator and discriminator builders: an MLP for points or flattened images, and the DCGAN.

Every size comes in as an argument. The DCGAN stack is derived from the image side instead of
being copied per resolution: side = base * 2**k with base in 3..7, so 16 = 4*2**2, 28 = 7*2**2,
32 = 4*2**3, 64 = 4*2**4. The generator starts from a base x base map and doubles k times;
the discriminator mirrors it. Discriminators return raw logits (one per sample): each loss
decides what to do with them.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm


def dcgan_layout(image_size: int) -> tuple[int, int]:
    """(base, doublings) with image_size == base * 2**doublings and 3 <= base <= 7."""
    base, doublings = image_size, 0
    while base % 2 == 0 and base > 7:
        base //= 2
        doublings += 1
    if doublings < 1 or not 3 <= base <= 7:
        raise ValueError(f"image_size={image_size} cannot be built by a DCGAN "
                         "(need base * 2**k with base 3..7 and k >= 1, e.g. 16, 28, 32, 64)")
    return base, doublings


# --- MLP ---------------------------------------------------------------------------------
class MLPGenerator(nn.Module):
    """z (N, z_dim) -> x (N, *shape). tanh output for images in [-1, 1], linear for points."""

    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int, depth: int, images: bool):
        super().__init__()
        self.shape = tuple(shape)
        layers: list[nn.Module] = []
        size_in = z_dim
        for _ in range(depth):
            layers += [nn.Linear(size_in, width), nn.ReLU()]             # (N, width)
            size_in = width
        layers.append(nn.Linear(size_in, math.prod(shape)))              # (N, prod(shape))
        if images:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """x (N, *shape) -> logit (N,). LeakyReLU(0.2) keeps gradients alive for negative inputs."""

    def __init__(self, shape: tuple[int, ...], width: int, depth: int, spectral: bool):
        super().__init__()
        wrap = _spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        size_in = math.prod(shape)
        for _ in range(depth):
            layers += [wrap(nn.Linear(size_in, width)), nn.LeakyReLU(0.2)]   # (N, width)
            size_in = width
        layers.append(wrap(nn.Linear(size_in, 1)))                          # (N, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


# --- DCGAN (Radford et al. 2015; the PyTorch DCGAN example) -------------------------------
class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> image (N, C, S, S): transposed convs + BatchNorm + ReLU, tanh out."""

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        base, doublings = dcgan_layout(image_size)
        ch = width * 2 ** (doublings - 1)          # channels halve at each doubling
        layers: list[nn.Module] = [
            # (N, z_dim, 1, 1) -> (N, ch, base, base)
            nn.ConvTranspose2d(z_dim, ch, base, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True),
        ]
        for _ in range(doublings - 1):
            # (N, ch, s, s) -> (N, ch/2, 2s, 2s)
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        # (N, width, S/2, S/2) -> (N, C, S, S)
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image (N, C, S, S) -> logit (N,): strided convs + LeakyReLU(0.2), BatchNorm after the first.

    `batch_norm=False` for WGAN-GP: the gradient penalty is per sample, and BatchNorm mixes
    samples of a batch, so the critic must not use it (Gulrajani et al. 2017).
    """

    def __init__(self, channels: int, image_size: int, width: int, spectral: bool, batch_norm: bool):
        super().__init__()
        base, doublings = dcgan_layout(image_size)
        wrap = _spectral_norm if spectral else (lambda m: m)
        # (N, C, S, S) -> (N, width, S/2, S/2); no BatchNorm on the input layer (DCGAN paper)
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, width, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(doublings - 1):
            # (N, ch, s, s) -> (N, 2ch, s/2, s/2)
            layers.append(wrap(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False)))
            if batch_norm:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            ch *= 2
        # (N, ch, base, base) -> (N, 1, 1, 1)
        layers.append(wrap(nn.Conv2d(ch, 1, base, 1, 0, bias=False)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights, BatchNorm scale N(1, 0.02) and zero shift, as in the DCGAN paper."""
    name = type(module).__name__
    if "Conv" in name:
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_models(arch: str, shape: tuple[int, ...], z_dim: int, width: int, depth: int,
                 spectral_norm: bool = False, critic_batch_norm: bool = True) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for data of `shape`: (2,) for points, (C, H, W) for images."""
    images = len(shape) == 3
    if arch == "mlp":
        return (MLPGenerator(z_dim, shape, width, depth, images),
                MLPDiscriminator(shape, width, depth, spectral_norm))
    if arch == "dcgan":
        if not images or shape[1] != shape[2]:
            raise ValueError(f"arch='dcgan' needs square images, got data of shape {shape}")
        channels, size = shape[0], shape[1]
        generator = DCGANGenerator(z_dim, channels, size, width)
        discriminator = DCGANDiscriminator(channels, size, width, spectral_norm, critic_batch_norm)
        generator.apply(dcgan_init)
        discriminator.apply(dcgan_init)
        return generator, discriminator
    raise ValueError(f"unknown arch {arch!r}")
