"""Memory budget of a run, estimated before anything is allocated.

The networks are built on PyTorch's "meta" device: tensors with shapes and no storage. So the
parameter count is exact, and a forward pass on meta tensors gives every activation's size for
free. A run needs roughly:
    parameters x 4 (weights, gradients, Adam's two moments)
  + activations of G and D for one batch, x 3 (D sees real and fake; backward keeps them)
One visitor of a shared 16 GB Space must not be able to take it all, hence MAX_RUN_BYTES.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .config import ConfigError, TrainConfig
from .models import build_models

MAX_RUN_BYTES = int(os.environ.get("GAN_PLAYGROUND_MAX_RUN_MB", "1536")) * 2**20
BYTES_PER_FLOAT = 4
EVAL_CHUNK = 256          # rows per pass of Trainer.generate and the digit metrics: bounds their memory


def _activation_bytes(module: nn.Module, inputs: torch.Tensor) -> int:
    """Sum of the sizes of every leaf module's output for `inputs` (meta tensors: no memory)."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        total += output.numel() * BYTES_PER_FLOAT

    hooks = [m.register_forward_hook(count) for m in module.modules() if not list(m.children())]
    try:
        module(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def estimate_bytes(config: TrainConfig, shape: tuple[int, ...]) -> dict[str, int]:
    """{"parameters": bytes, "activations": bytes, "total": bytes} for one run of `config`."""
    with torch.device("meta"):
        generator, discriminator = build_models(
            config.arch, shape, config.z_dim, config.width, config.depth,
            spectral_norm=config.spectral_norm, critic_batch_norm=config.loss != "wgan_gp")
        params = sum(p.numel() for p in generator.parameters()) + sum(p.numel() for p in discriminator.parameters())
        batch = config.batch_size
        fake = generator(torch.empty(batch, config.z_dim))
        activations = _activation_bytes(generator, torch.empty(batch, config.z_dim))
        activations += 2 * _activation_bytes(discriminator, torch.empty_like(fake))
    parameters = params * BYTES_PER_FLOAT * 4
    total = parameters + 3 * activations
    return {"parameters": parameters, "activations": 3 * activations, "total": total}


def check_budget(config: TrainConfig, shape: tuple[int, ...]) -> None:
    """ConfigError naming the knob to lower when a run would need more than MAX_RUN_BYTES."""
    need = estimate_bytes(config, shape)
    if need["total"] <= MAX_RUN_BYTES:
        return
    key = "batch_size" if need["activations"] > need["parameters"] else "width"
    value = getattr(config, key)
    raise ConfigError(key, value, f"a smaller value: this run would need about {need['total'] / 2**30:.1f} GB "
                      f"of memory, more than the {MAX_RUN_BYTES / 2**30:.1f} GB one run may use here "
                      "(lower width, batch_size, image_size or depth)")
