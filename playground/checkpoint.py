"""Save and load a generator: safetensors weights + the JSON config. Never pickle.

A pickle can run code when it is loaded, and checkpoints are uploaded by strangers on a public
Space; safetensors holds tensors and string metadata only. The metadata repeats the config and
the data shape, so a single .safetensors file is enough to rebuild the generator.

The metadata decides what gets allocated, so it is judged from the header before anything is:
a 600-byte file whose config asks for a 200M-parameter generator is refused by the budget, and
one whose tensors do not match the config's (names, shapes) is refused before they are read.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .budget import EVAL_CHUNK, MAX_RUN_BYTES, generator_bytes, size_words
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
    Everything the file claims is checked from its header before anything is allocated: the
    config, the memory its generator would need, and every tensor's name and shape.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path.name!r} does not exist")
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint {path.name!r} is larger than {MAX_CHECKPOINT_BYTES >> 20} MB")
    metadata, shapes = _read_header(path)
    config, shape = _read_metadata(path, metadata, config)
    need = generator_bytes(config, shape)
    if need > MAX_RUN_BYTES:
        raise CheckpointError(f"{path.name!r} asks for a generator that needs about {size_words(need)} "
                              f"of memory; one run may use {size_words(MAX_RUN_BYTES)} here")
    with torch.device("meta"):   # shapes only: what the config implies, at no cost
        generator, _ = build_models(config.arch, shape, config.z_dim, config.width, config.depth)
    _check_tensors(path, generator, shapes)
    try:
        tensors = load_file(str(path))
        generator.to_empty(device="cpu")       # storage, no init: every value comes from the file
        generator.load_state_dict(tensors)
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"weights in {path.name!r} do not fit the config: {str(err)[:200]}") from None
    return generator.eval(), config, shape


def _read_header(path: Path) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """(metadata, tensor name -> shape) from the file's header alone: no tensor is read."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name!r} is not a safetensors checkpoint ({err}); "
                              "only .safetensors files written by GAN Playground can be loaded") from None
    return metadata, shapes


def _read_metadata(path: Path, metadata: dict[str, str],
                   config: TrainConfig | None) -> tuple[TrainConfig, tuple[int, ...]]:
    """The validated config and data shape the metadata names (or `config`, when given)."""
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
    return config, shape


def _check_tensors(path: Path, generator: nn.Module, shapes: dict[str, tuple[int, ...]]) -> None:
    """CheckpointError unless the file holds exactly the generator's tensors, shape for shape."""
    expected = {name: tuple(t.shape) for name, t in generator.state_dict().items()}
    if shapes == expected:
        return
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    reshaped = sorted(n for n in set(expected) & set(shapes) if expected[n] != shapes[n])
    details = [f"{label} {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
               for label, names in (("missing", missing), ("unexpected", unexpected),
                                    ("other shape", reshaped)) if names]
    raise CheckpointError(f"weights in {path.name!r} do not fit the config: {'; '.join(details)}")


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) on CPU for a loaded generator (eval mode), EVAL_CHUNK rows at a time as the
    trainer does: the memory of the pass is the one generator_bytes counted."""
    device = next(generator.parameters()).device
    chunks = [generator(z[start:start + EVAL_CHUNK].to(device)).float().cpu()
              for start in range(0, len(z), EVAL_CHUNK)]
    return torch.cat(chunks) if chunks else generator(z.to(device)).float().cpu()
