"""Save and load a generator: safetensors weights + the JSON config. Never pickle.

A pickle can run code when it is loaded, and checkpoints are uploaded by strangers on a public
Space; safetensors holds tensors and string metadata only. The metadata repeats the config and
the data shape, so a single .safetensors file is enough to rebuild the generator.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .config import ConfigError, TrainConfig
from .models import build_models

MAX_CHECKPOINT_BYTES = 200 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with a message saying why."""


def save_generator(path: str | Path, generator: nn.Module, config: TrainConfig,
                   shape: tuple[int, ...]) -> Path:
    """Write the generator's weights with the config and data shape in the metadata."""
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    save_file(tensors, str(path), metadata={"config": config.to_json(), "shape": json.dumps(list(shape))})
    return path


def load_generator(path: str | Path, config: TrainConfig | None = None) -> tuple[nn.Module, TrainConfig, tuple[int, ...]]:
    """(generator in eval mode on CPU, its config, data shape) from a .safetensors file.

    `config` overrides the config stored in the file (e.g. a config.json saved beside it).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path.name!r} does not exist")
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint {path.name!r} is larger than {MAX_CHECKPOINT_BYTES >> 20} MB")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name!r} is not a safetensors checkpoint ({err}); "
                              "only .safetensors files written by GAN Playground can be loaded") from None
    try:
        if config is None:
            config = TrainConfig.from_json(metadata["config"])
        shape = tuple(int(s) for s in json.loads(metadata["shape"]))
    except (KeyError, ValueError, TypeError, ConfigError) as err:
        raise CheckpointError(f"{path.name!r} has no usable GAN Playground metadata ({err})") from None
    size = config.image_size
    allowed = [(2,)] if not config.is_image else [(1, size, size), (3, size, size)]
    if shape not in allowed:   # never trust file metadata with sizes: it decides what gets allocated
        raise CheckpointError(f"{path.name!r}: data shape {shape} does not fit dataset={config.dataset!r}")
    try:
        generator, _ = build_models(config.arch, shape, config.z_dim, config.width, config.depth)
        generator.load_state_dict(tensors)
    except (RuntimeError, ValueError) as err:
        raise CheckpointError(f"weights in {path.name!r} do not fit the config: {str(err)[:200]}") from None
    return generator.eval(), config, shape


def load_config_file(path: str | Path) -> TrainConfig:
    """A config.json, validated like every other config."""
    text = Path(path).read_text(errors="replace")
    return TrainConfig.from_json(text)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) on CPU for a loaded generator (eval mode)."""
    device = next(generator.parameters()).device
    return generator(z.to(device)).float().cpu()
