"""Memory budget of a run, estimated before anything is allocated.

The networks are built on PyTorch's "meta" device: tensors with shapes and no storage. So the
parameter count is exact, and a forward pass on meta tensors gives every activation's size for
free. A run needs roughly:
    parameters x 7 (weights, gradients, Adam's two moments, and the last-good copy of the
                    weights and moments that divergence recovery keeps)
  + the larger of the two passes that take turns between steps:
      one training step at the configured batch: activations of G and of D on real and fake,
        x 2 (backward keeps them, and makes gradients as it goes), two more D passes for
        WGAN-GP's penalty and one for R1 (their gradient graphs), and the real batch
      the evaluation pass: 2000 fakes and 2000 real samples held for the metrics, G run on
        EVAL_CHUNK rows at a time (Trainer.generate), the digit metrics' copies of one chunk,
        and D on the field view's grid for point data
One visitor of a shared 16 GB Space must not be able to take it all, hence MAX_RUN_BYTES.
bench/memory_budget.py measures real runs against this estimate.
"""
from __future__ import annotations

import math
import os

import torch
from torch import nn
from torch.nn.utils import parametrize

from .config import ConfigError, TrainConfig
from .losses import LOSSES
from .models import build_models

MAX_RUN_BYTES = int(os.environ.get("GAN_PLAYGROUND_MAX_RUN_MB", "1536")) * 2**20
BYTES_PER_FLOAT = 4
EVAL_CHUNK = 256          # rows per pass of Trainer.generate and the digit metrics: bounds their memory
EVAL_SAMPLES = 2000       # the largest evaluation: session and CLI score 2000 fakes against 2000 reals
FIELD_POINTS = 40 * 40    # D's heatmap grid of the point-data view (field.field_view)
PARAMETER_COPIES = 7      # see the module docstring
STEP_FACTOR = 2           # kept for backward + gradients (a real step peaks at 0.6-1.0x: bench)
METRIC_COPIES = 3         # float copies digit_inputs makes of a chunk (NaN fix, clamp, grey)

# The live keys (config.LIVE_KEYS) the estimate reads: Trainer.apply checks the budget again
# when one of them changes (tests/test_budget.py checks the others leave the estimate alone).
LIVE_SIZE_KEYS = frozenset({"batch_size", "gp_lambda", "r1_gamma", "loss"})   # loss: GP's passes

# What the refusal names: the knob to lower, in words a visitor reads.
_KNOB_WORDS = {"batch_size": "Batch size", "width": "Width"}


class BudgetError(ConfigError):
    """A config valid key by key whose run needs more memory than one run may use here.

    A ConfigError keyed by the knob to lower. str() is one plain sentence ("Batch size 1024
    needs about 46 GB of memory; ..."); `allowed` is its tail, for messages that already
    name the knob and the value ("Batch size: about 46 GB ...; you typed 1024").
    """

    def __init__(self, key: str, value, need: int):
        lower = "lower the batch size, width, image size or depth"
        super().__init__(key, value, f"about {size_words(need)} of memory is needed and one run "
                                     f"may use {size_words(MAX_RUN_BYTES)} here: {lower}")
        self.args = (f"{_KNOB_WORDS[key]} {value} needs about {size_words(need)} of memory; "
                     f"one run may use {size_words(MAX_RUN_BYTES)} here: {lower}",)


def _counted_modules(module: nn.Module) -> list[nn.Module]:
    """Modules whose outputs are activations: the leaves, and the parametrized modules.

    A spectral-normed layer holds its weight's parametrization as a child, so it is not a
    leaf, yet its output is a real activation. The parametrization (a leaf) is counted too:
    it makes a normalised copy of the weight at every forward, kept for backward.
    """
    return [m for m in module.modules()
            if parametrize.is_parametrized(m) or next(m.children(), None) is None]


def _activation_bytes(module: nn.Module, inputs: torch.Tensor) -> int:
    """Sum of the sizes of every counted module's new output for `inputs` (meta: no memory)."""
    total = 0

    def count(_module, inputs, output):
        nonlocal total
        # An in-place module (ReLU(True)) hands back its input: the same memory, counted once.
        if isinstance(output, torch.Tensor) and not any(output is x for x in inputs):
            total += output.numel() * BYTES_PER_FLOAT

    hooks = [m.register_forward_hook(count) for m in _counted_modules(module)]
    try:
        module(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def _meta_models(config: TrainConfig, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of `config` on the meta device, built as the Trainer builds them."""
    with torch.device("meta"):
        return build_models(config.arch, shape, config.z_dim, config.width, config.depth,
                            spectral_norm=config.spectral_norm,
                            critic_batch_norm=LOSSES[config.loss].critic_batch_norm)


def _parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _step_bytes(config: TrainConfig, generator: nn.Module, discriminator: nn.Module,
                shape: tuple[int, ...]) -> int:
    """One training step at the configured batch (see the module docstring)."""
    batch = config.batch_size
    with torch.device("meta"):
        d_passes = 2              # real and fake
        if LOSSES[config.loss].gradient_penalty and config.gp_lambda > 0:
            d_passes += 2         # D on the interpolates, and its gradient graph (create_graph)
        if config.r1_gamma > 0:
            d_passes += 1         # the gradient graph of D on the real batch
        activations = _activation_bytes(generator, torch.empty(batch, config.z_dim))
        activations += d_passes * _activation_bytes(discriminator, torch.empty(batch, *shape))
    real_batch = 2 * batch * math.prod(shape) * BYTES_PER_FLOAT   # uint8 -> float -> [-1, 1]
    return STEP_FACTOR * activations + real_batch


def _generate_bytes(config: TrainConfig, generator: nn.Module, shape: tuple[int, ...],
                    count: int) -> int:
    """Trainer.generate of `count` rows: the output, and G's activations for one chunk."""
    with torch.device("meta"):
        chunk = _activation_bytes(generator, torch.empty(min(count, EVAL_CHUNK), config.z_dim))
    return count * math.prod(shape) * BYTES_PER_FLOAT + chunk


def _evaluation_bytes(config: TrainConfig, generator: nn.Module, discriminator: nn.Module,
                      shape: tuple[int, ...]) -> int:
    """The evaluation / render pass between steps (see the module docstring)."""
    sample = math.prod(shape) * BYTES_PER_FLOAT
    total = _generate_bytes(config, generator, shape, EVAL_SAMPLES) + EVAL_SAMPLES * sample
    if config.is_image:
        total += METRIC_COPIES * min(EVAL_SAMPLES, EVAL_CHUNK) * sample
    else:
        with torch.device("meta"):
            total += _activation_bytes(discriminator, torch.empty(FIELD_POINTS, *shape))
    return total


def estimate_bytes(config: TrainConfig, shape: tuple[int, ...]) -> dict[str, int]:
    """Bytes of one run of `config` on data of `shape`.

    {"parameters", "step", "evaluation", "total"}: total = parameters + the larger pass.
    """
    generator, discriminator = _meta_models(config, shape)
    params = _parameter_count(generator) + _parameter_count(discriminator)
    parameters = params * BYTES_PER_FLOAT * PARAMETER_COPIES
    step = _step_bytes(config, generator, discriminator, shape)
    evaluation = _evaluation_bytes(config, generator, discriminator, shape)
    return {"parameters": parameters, "step": step, "evaluation": evaluation,
            "total": parameters + max(step, evaluation)}


def generator_bytes(config: TrainConfig, shape: tuple[int, ...]) -> int:
    """Bytes of a loaded generator that makes EVAL_SAMPLES samples (no D, no optimizer)."""
    with torch.device("meta"):   # G never has spectral norm: D's (slow on meta) is not built
        generator, _ = build_models(config.arch, shape, config.z_dim, config.width, config.depth)
    weights = _parameter_count(generator) * BYTES_PER_FLOAT
    return weights + _generate_bytes(config, generator, shape, EVAL_SAMPLES)


def size_words(count: int) -> str:
    """Bytes as a visitor reads them: "46 GB", "1.5 GB", "730 MB"."""
    gigabytes = count / 2**30
    if gigabytes >= 10:
        return f"{gigabytes:.0f} GB"
    if gigabytes >= 1:
        return f"{gigabytes:.1f} GB"
    return f"{count / 2**20:.0f} MB"


def check_budget(config: TrainConfig, shape: tuple[int, ...]) -> None:
    """BudgetError (a ConfigError) naming the knob to lower when a run needs more than MAX_RUN_BYTES."""
    need = estimate_bytes(config, shape)
    if need["total"] <= MAX_RUN_BYTES:
        return
    # The batch only sizes the training step; the networks and the evaluation follow the width.
    by_batch = need["step"] >= need["evaluation"] and need["step"] > need["parameters"]
    key = "batch_size" if by_batch else "width"
    raise BudgetError(key, getattr(config, key), need["total"])
