"""DATASETS registry: 2D toy samplers and image datasets, all seeded through a torch.Generator.

Every builder has the same signature, `builder(config) -> Dataset` (like the dataset list of
TensorFlow Playground), so the trainer, the CLI and the UI never branch on the dataset key.
All randomness goes through the generator handed to `Dataset.sample`, so two sessions running
in different threads never share (or disturb) one global RNG.

Image data is resized once to `config.image_size` and held in memory as uint8, turned into a
float batch in [-1, 1] only when sampled: CIFAR-10 is 150 MB that way instead of 600 MB of
float32, and sampling a batch is one index and one multiply.

A visitor's own images (dataset="folder": a directory or a .zip) are untrusted bytes, read by
ingest.py under its caps; this module only turns the pixels it returns into a Dataset.
"""
from __future__ import annotations

import functools
import math
import os
import re
import socket
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from playground.config import DATASET_CHOICES, IMAGE_SIZES, TrainConfig
# DataError and the upload caps are ingest.py's; named here too, where callers have found them.
from playground.ingest import IMAGE_EXTENSIONS, MAX_IMAGES, DataError, read_images  # noqa: F401
from playground.points_csv import read_points

MODE_STD = 0.05                      # std of each Gaussian of ring and grid (toy-GAN literature)


@dataclass
class Dataset:
    """A data set: its shape and a seeded sampler; mixtures also carry their mode centres."""

    key: str
    kind: str                                            # "points" or "images"
    shape: tuple[int, ...]                               # (2,) or (C, H, W)
    sample: Callable[[int, torch.Generator], torch.Tensor]   # n -> float32 CPU (n, *shape)
    modes: np.ndarray | None = None                      # (M, 2) mixture centres (ring, grid)
    mode_std: float | None = None                        # std of each mixture component
    size: int | None = None                              # images held (images only)
    skipped: int = 0                                     # folder: files that could not be read

    def real_samples(self, n: int, seed: int = 12345) -> np.ndarray:
        """`n` real samples as float32 numpy, the same for the same seed (real.npy, metrics)."""
        return self.sample(n, torch.Generator().manual_seed(seed)).numpy()


def make_dataset(config: TrainConfig) -> Dataset:
    """The Dataset named by `config.dataset`."""
    return DATASETS[config.dataset](config)


# --- points ---------------------------------------------------------------------------------
# All toy sets fit in roughly [-4.5, 4.5]^2, so one plot range and one MLP scale serve them all.

def _mixture(key: str, modes: np.ndarray, std: float) -> Dataset:
    """Equal-weight Gaussian mixture with isotropic components around `modes`."""
    centres = torch.from_numpy(modes)

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        pick = torch.randint(len(centres), (n,), generator=generator)
        return centres[pick] + std * torch.randn(n, 2, generator=generator)

    return Dataset(key, "points", (2,), sample, modes=modes, mode_std=std)


def _ring(config: TrainConfig) -> Dataset:
    angles = np.arange(8) * (2 * math.pi / 8)
    modes = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture("ring", modes.astype(np.float32), MODE_STD)


def _grid(config: TrainConfig) -> Dataset:
    ticks = np.arange(-4.0, 5.0, 2.0)                    # -4, -2, 0, 2, 4
    modes = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
    return _mixture("grid", modes.astype(np.float32), MODE_STD)


def _points(key: str, curve: Callable[[int, torch.Generator], torch.Tensor],
            noise: float) -> Dataset:
    """A point set: `curve` gives clean points, then Gaussian noise of std `noise` is added."""
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return curve(n, generator) + noise * torch.randn(n, 2, generator=generator)

    return Dataset(key, "points", (2,), sample)


def _spiral_curve(n: int, generator: torch.Generator) -> torch.Tensor:
    # One arm of the 2D Swiss roll of the WGAN-GP toy experiments: radius grows with the angle.
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))    # 1.5π .. 4.5π
    return torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) * (3.5 / (4.5 * math.pi))


def _moons_curve(n: int, generator: torch.Generator) -> torch.Tensor:
    # sklearn.datasets.make_moons redone in torch (it draws from numpy's RNG, not our generator).
    u = math.pi * torch.rand(n, generator=generator)
    lower = torch.randint(2, (n,), generator=generator).bool()
    x = torch.where(lower, 1 - torch.cos(u), torch.cos(u))
    y = torch.where(lower, 0.5 - torch.sin(u), torch.sin(u))
    return (torch.stack([x, y], dim=1) - torch.tensor([0.5, 0.25])) * 2.0   # centred, x in ±3


def _circles_curve(n: int, generator: torch.Generator) -> torch.Tensor:
    # Two concentric circles (radius 3 and 1.5), like make_circles(factor=0.5) scaled up.
    u = 2 * math.pi * torch.rand(n, generator=generator)
    radius = torch.where(torch.randint(2, (n,), generator=generator).bool(), 3.0, 1.5)
    return radius[:, None] * torch.stack([torch.cos(u), torch.sin(u)], dim=1)


def _line_curve(n: int, generator: torch.Generator) -> torch.Tensor:
    # A diagonal segment from (-2.5, -2.5) to (2.5, 2.5): a 1D manifold inside the plane.
    u = 5.0 * torch.rand(n, 1, generator=generator) - 2.5
    return u.expand(n, 2).clone()


def _spiral(config: TrainConfig) -> Dataset:
    return _points("spiral", _spiral_curve, 0.05)


def _moons(config: TrainConfig) -> Dataset:
    return _points("moons", _moons_curve, 0.1)


def _circles(config: TrainConfig) -> Dataset:
    return _points("circles", _circles_curve, 0.05)


def _line(config: TrainConfig) -> Dataset:
    return _points("line", _line_curve, 0.05)


# --- images held in memory --------------------------------------------------------------------
MAX_HELD_BYTES = 256 * 2**20         # uint8 pixels kept per data set (CIFAR-10 at 32: 150 MB)
_RESIZE_CHUNK = 4096                 # images resized at once: bounds the float32 working copy


def _held_images(key: str, images: torch.Tensor, skipped: int = 0) -> Dataset:
    """Images kept as uint8 (N, C, S, S) in 0..255; each sampled batch becomes float in [-1, 1]."""
    count, channels, size = images.shape[0], images.shape[1], images.shape[-1]

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return images[torch.randint(count, (n,), generator=generator)].float() / 127.5 - 1

    return Dataset(key, "images", (channels, size, size), sample, size=count, skipped=skipped)


def _fit_images(images: torch.Tensor, size: int, max_value: int = 255) -> torch.Tensor:
    """(N, C, h, w) in 0..max_value -> uint8 (N', C, size, size) in 0..255, N' capped by memory.

    Resized once here, not per batch: a per-batch resize costs more than a small MLP's step.
    """
    keep = min(len(images), MAX_HELD_BYTES // (images.shape[1] * size * size))
    images = images[:keep]
    if images.shape[-2:] == (size, size) and max_value == 255:
        return images.contiguous()   # CIFAR arrives channels-last: one copy, then plain NCHW
    out = torch.empty((keep, images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, keep, _RESIZE_CHUNK):
        chunk = images[start:start + _RESIZE_CHUNK].float() * (255 / max_value)
        if chunk.shape[-2:] != (size, size):
            # antialias matters when shrinking (28 -> 16); bilinear weights are convex, so the
            # values stay in 0..255 up to rounding.
            chunk = F.interpolate(chunk, size=(size, size), mode="bilinear",
                                  align_corners=False, antialias=True)
        out[start:start + _RESIZE_CHUNK] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


@functools.lru_cache(maxsize=len(IMAGE_SIZES))
def _digits_images(size: int) -> torch.Tensor:
    """scikit-learn's 1797 handwritten digits as uint8 (N, 1, size, size); made once per size."""
    from sklearn.datasets import load_digits   # ships inside scikit-learn: works offline

    # Values 0..16: background 0 -> -1 and ink 16 -> +1, a white digit on black like MNIST.
    digits = torch.from_numpy(load_digits().images).unsqueeze(1)   # (1797, 1, 8, 8) float64
    return _fit_images(digits, size, max_value=16)


def _digits(config: TrainConfig) -> Dataset:
    return _held_images("digits", _digits_images(config.image_size))


def _data_root(config: TrainConfig) -> Path:
    """Where downloaded data sets live: config.data_root, $GAN_PLAYGROUND_CACHE or ~/.cache."""
    if config.data_root:
        return Path(config.data_root).expanduser()
    return Path(os.environ.get("GAN_PLAYGROUND_CACHE") or "~/.cache/gan_playground").expanduser()


# Messages reach visitors: plain words, the UI's name of the offline choice, no server path.
OFFLINE_CHOICE = "digits (8×8 scans, offline)"       # the label the dataset menu shows
_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
_NETWORK_ERRORS = (urllib.error.URLError, socket.gaierror, ConnectionError, TimeoutError)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/]+)+")


def _reason(err: Exception) -> str:
    """The error's type and last line (torchvision's multi-line messages end with the cause),
    every path in it cut to its base name."""
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[-1].strip()}" if lines else type(err).__name__
    return _PATH.sub(lambda found: Path(found.group()).name, text)


def _is_offline(err: BaseException) -> bool:
    """Whether a download failed for want of a network. torchvision raises the URLError itself
    (CIFAR-10) or a RuntimeError that quotes it, per mirror (MNIST)."""
    for _ in range(8):            # the cause chain; bounded, chains can loop
        if err is None:
            return False
        if isinstance(err, _NETWORK_ERRORS) or "urlopen error" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def _torchvision_images(key: str, class_name: str, config: TrainConfig) -> Dataset:
    """A torchvision data set's train split: read from data_root, downloaded if missing."""
    import torchvision.datasets   # imported here: point-data users never pay for it

    dataset_class = getattr(torchvision.datasets, class_name)
    root, title = _data_root(config), _TITLES[key]
    try:
        found = dataset_class(str(root), train=True, download=False)
    except RuntimeError:          # torchvision's "Dataset not found": fetch it below
        found = None
    except Exception as err:      # files there but unreadable (truncated, wrong format)
        raise DataError(f"{title}'s downloaded files cannot be read ({_reason(err)}). Delete "
                        "them from the download cache to download again, or choose "
                        f"“{OFFLINE_CHOICE}”.") from err
    if found is None:
        try:
            found = dataset_class(str(root), train=True, download=True)
        except Exception as err:  # offline (URLError), bad checksum, disk full ...
            why = ("this server cannot reach the internet" if _is_offline(err)
                   else f"the download failed ({_reason(err)})")
            raise DataError(f"{title} needs a one-time download, and {why}. "
                            f"Choose “{OFFLINE_CHOICE}” instead.") from err
    data = torch.as_tensor(found.data)
    # MNIST-family data is (N, H, W); CIFAR-10 is numpy (N, H, W, C).
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    return _held_images(key, _fit_images(images, config.image_size))


def _mnist(config: TrainConfig) -> Dataset:
    return _torchvision_images("mnist", "MNIST", config)


def _fashion_mnist(config: TrainConfig) -> Dataset:
    return _torchvision_images("fashion_mnist", "FashionMNIST", config)


def _cifar10(config: TrainConfig) -> Dataset:
    return _torchvision_images("cifar10", "CIFAR10", config)


# --- user images: a folder or a zip (read by ingest.py: untrusted bytes, hard caps) ---------

def _csv(config: TrainConfig) -> Dataset:
    """The visitor's own points (points_csv.py): drawn with replacement, as a data set of
    that many samples would be."""
    if not config.data_path:
        raise DataError("data_path is required for dataset='csv': a CSV file of x, y points")
    points = torch.from_numpy(read_points(Path(config.data_path).expanduser()))   # (N, 2)

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return points[torch.randint(len(points), (n,), generator=generator)]

    return Dataset("csv", "points", (2,), sample, size=len(points))


def _folder(config: TrainConfig) -> Dataset:
    if not config.data_path:
        raise DataError("data_path is required for dataset='folder': a directory or a .zip of images")
    images, skipped = read_images(Path(config.data_path).expanduser(), config.image_size)
    return _held_images("folder", images, skipped=skipped)


# --- the registry -----------------------------------------------------------------------------
DATASETS: dict[str, Callable[[TrainConfig], Dataset]] = {
    "ring": _ring,
    "grid": _grid,
    "spiral": _spiral,
    "moons": _moons,
    "circles": _circles,
    "line": _line,
    "csv": _csv,
    "digits": _digits,
    "mnist": _mnist,
    "fashion_mnist": _fashion_mnist,
    "cifar10": _cifar10,
    "folder": _folder,
}
assert tuple(DATASETS) == DATASET_CHOICES, "DATASETS must match config.DATASET_CHOICES"
