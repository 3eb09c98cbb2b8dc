"""DATASETS registry: 2D toy samplers and image datasets, all seeded through a torch.Generator.

Every builder has the same signature, `builder(config) -> Dataset` (like the dataset list of
TensorFlow Playground), so the trainer, the CLI and the UI never branch on the dataset key.
All randomness goes through the generator handed to `Dataset.sample`, so two sessions running
in different threads never share (or disturb) one global RNG.

Image data is resized once to `config.image_size` and held in memory as uint8, turned into a
float batch in [-1, 1] only when sampled: CIFAR-10 is 150 MB that way instead of 600 MB of
float32, and sampling a batch is one index and one multiply.
"""
from __future__ import annotations

import functools
import io
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from playground.config import DATASET_CHOICES, IMAGE_SIZES, TrainConfig

# --- limits for user data (a Space is shared: one upload must not exhaust it) --------------
MAX_IMAGES = 20_000                  # images read from a folder or zip (245 MB as 64x64 RGB)
MAX_UNZIPPED_BYTES = 200 * 2**20     # total uncompressed bytes read from one zip
MAX_IMAGE_PIXELS = 32 * 2**20        # pixels decoded for one image (~100 MB as RGB)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

MODE_STD = 0.05                      # std of each Gaussian of ring and grid (toy-GAN literature)


class DataError(ValueError):
    """Data that cannot be had (offline download, empty folder, unsafe zip); user-facing message."""


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


def _reason(err: Exception) -> str:
    """The error's type and last line: torchvision's multi-line messages end with the cause."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[-1].strip()}" if lines else type(err).__name__


def _torchvision_images(key: str, class_name: str, config: TrainConfig) -> Dataset:
    """A torchvision data set's train split: read from data_root, downloaded if missing."""
    import torchvision.datasets   # imported here: point-data users never pay for it

    dataset_class = getattr(torchvision.datasets, class_name)
    root = _data_root(config)
    try:
        found = dataset_class(str(root), train=True, download=False)
    except RuntimeError:          # torchvision's "Dataset not found": fetch it below
        found = None
    except Exception as err:      # files there but unreadable (truncated, wrong format)
        raise DataError(f"dataset={key!r}: the files in {root} cannot be read ({_reason(err)}); "
                        f"delete them to download again, or use dataset='digits'") from err
    if found is None:
        try:
            found = dataset_class(str(root), train=True, download=True)
        except Exception as err:  # offline (URLError), bad checksum, disk full ...: one message
            raise DataError(f"dataset={key!r} is not in {root} and could not be downloaded "
                            f"({_reason(err)}). Use dataset='digits', which works offline, "
                            f"or put the files in data_root.") from err
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


# --- user images: a folder or a zip ----------------------------------------------------------

def _folder(config: TrainConfig) -> Dataset:
    if not config.data_path:
        raise DataError("data_path is required for dataset='folder': a directory or a .zip of images")
    path = Path(config.data_path).expanduser()
    if not path.exists():
        raise DataError(f"data_path={config.data_path!r} does not exist")
    if path.is_dir():
        sources = _directory_sources(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        sources = _zip_sources(path)
    else:
        raise DataError(f"data_path={config.data_path!r} is neither a directory nor a .zip file")
    images, skipped = _decode_all(sources, config.image_size)
    if images is None:
        raise DataError(f"no readable images in {config.data_path} ({skipped} skipped)")
    return _held_images("folder", images, skipped=skipped)


def _is_image_name(name: str) -> bool:
    # Hidden files and macOS resource forks (__MACOSX/._x.png) are not pictures.
    parts = name.replace("\\", "/").split("/")
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and name.lower().endswith(IMAGE_EXTENSIONS)


def _directory_sources(root: Path) -> list[Path]:
    """Image files under `root` (recursively), sorted so that a run is repeatable."""
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and _is_image_name(str(p.relative_to(root))))
    if len(files) > MAX_IMAGES:
        raise DataError(f"{root} holds {len(files)} images; at most {MAX_IMAGES} are allowed")
    return files


def _zip_sources(path: Path) -> Iterator[io.BytesIO | None]:
    """The image entries of a zip, read into memory (never extracted) after safety checks.

    Yields None for an entry that cannot be read (corrupt, encrypted); it counts as skipped.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{path.name} is not a readable zip file ({err})") from err
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        for entry in entries:
            # Zip slip: nothing is written to disk here, but an archive that names paths
            # outside itself is hostile or broken, so it is refused rather than half-read.
            name = entry.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/") or name[1:2] == ":":
                raise DataError(f"refusing {path.name}: entry {entry.filename!r} points outside "
                                f"the archive (absolute path or '..')")
        if len(entries) > MAX_IMAGES:
            raise DataError(f"refusing {path.name}: {len(entries)} entries, at most {MAX_IMAGES}")
        declared = sum(e.file_size for e in entries)
        if declared > MAX_UNZIPPED_BYTES:
            raise DataError(f"refusing {path.name}: {declared / 2**20:.0f} MB uncompressed, "
                            f"at most {MAX_UNZIPPED_BYTES / 2**20:.0f} MB")
        # Counted again while reading: declared sizes can lie. (Python's zipfile also stops at
        # the declared size and then fails the CRC check, so a liar ends up skipped.)
        budget = MAX_UNZIPPED_BYTES
        for entry in entries:
            if not _is_image_name(entry.filename):
                continue
            try:
                with archive.open(entry) as stream:
                    data = stream.read(budget + 1)
            except Exception:         # bad CRC, encrypted, unsupported compression ...
                yield None
                continue
            budget -= len(data)
            if budget < 0:
                raise DataError(f"refusing {path.name}: more than "
                                f"{MAX_UNZIPPED_BYTES / 2**20:.0f} MB uncompressed")
            yield io.BytesIO(data)


def _decode(source: Path | io.BytesIO | None, size: int) -> np.ndarray | None:
    """One image centre-cropped and resized to a (3, size, size) uint8 array; None if unreadable."""
    from PIL import Image, ImageOps

    if source is None:
        return None
    try:
        with Image.open(source) as image:
            image.draft(image.mode, (size, size))   # JPEG: decode at a reduced scale, cheaply
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None                         # decompression bomb or just far too big
            square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
            return np.asarray(square, dtype=np.uint8).transpose(2, 0, 1)
    except Exception:   # PIL raises many types (OSError, SyntaxError, ValueError, bomb errors)
        return None


def _decode_all(sources: Iterable[Path | io.BytesIO | None], size: int) -> tuple[torch.Tensor | None, int]:
    """(uint8 images (N, C, size, size) or None if none were readable, number skipped).

    C is 3 if any image has colour, else 1: a folder of grey scans trains a 1-channel model.
    """
    arrays, skipped = [], 0
    for source in sources:
        array = _decode(source, size)
        if array is None:
            skipped += 1
        else:
            arrays.append(array)
    if not arrays:
        return None, skipped
    images = torch.from_numpy(np.stack(arrays))                     # (N, 3, S, S)
    grey = bool((images[:, :1] == images[:, 1:]).all())
    return (images[:, :1].clone() if grey else images), skipped


# --- the registry -----------------------------------------------------------------------------
DATASETS: dict[str, Callable[[TrainConfig], Dataset]] = {
    "ring": _ring,
    "grid": _grid,
    "spiral": _spiral,
    "moons": _moons,
    "circles": _circles,
    "line": _line,
    "digits": _digits,
    "mnist": _mnist,
    "fashion_mnist": _fashion_mnist,
    "cifar10": _cifar10,
    "folder": _folder,
}
assert tuple(DATASETS) == DATASET_CHOICES, "DATASETS must match config.DATASET_CHOICES"
