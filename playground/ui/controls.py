"""The Train tab's controls as one table: key, label, component factory, main or "Advanced".

Everything per-key lives here, so the tab and its handlers loop over CONTROLS instead of
repeating code for each knob. Handlers receive the controls' values positionally, in table
order (that is how Gradio passes inputs); `as_dict` names them, and `config_from_values` turns
them into a TrainConfig through TrainConfig.replace, so validation (and its messages naming the
key) happens in one place: config.py.

Whether a key can change during a run is *not* repeated here: it is config.LIVE_KEYS.
Dropdowns show human labels but their values are the registry keys: labels are never logic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gradio as gr

from ..config import (ARCH_CHOICES, DATASET_CHOICES, IMAGE_SIZES, LIVE_KEYS, LOSS_CHOICES,
                      OPTIMIZER_CHOICES, TrainConfig)

DATASET_LABELS = {
    "ring": "8 Gaussians on a ring", "grid": "25 Gaussians on a grid", "spiral": "spiral",
    "moons": "two moons", "circles": "two circles", "line": "a line segment",
    "digits": "digits (8×8 scans, offline)", "mnist": "MNIST (downloaded)",
    "fashion_mnist": "Fashion-MNIST (downloaded)", "cifar10": "CIFAR-10 (downloaded)",
    # The path is never typed: it is set server side from the visitor's upload (ui/uploads.py).
    "folder": "your own images (upload them below)",
}
ARCH_LABELS = {"mlp": "MLP (fully connected)", "dcgan": "DCGAN (convolutional, images only)"}
LOSS_LABELS = {
    "minimax": "minimax (original, saturating)", "nonsaturating": "non-saturating",
    "lsgan": "least squares (LSGAN)", "wgan": "Wasserstein (weight clipping)",
    "wgan_gp": "Wasserstein + gradient penalty", "hinge": "hinge",
}
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


def labelled(labels: dict[str, str], keys: Sequence) -> list[tuple[str, Any]]:
    """(label, key) pairs in the config's order; keys without a label are not offered."""
    return [(labels[k], k) for k in keys if k in labels]


# --- component factories: (label, value, info, elem_id) -> component ---------------------
Factory = Callable[[str, Any, str, str], gr.Component]


def number(label, value, info, elem_id) -> gr.Component:
    # No minimum/maximum here on purpose: Gradio would refuse out-of-range input with its own
    # generic error, while TrainConfig's message names the key and the allowed range.
    return gr.Number(value=value, label=label, info=info, elem_id=elem_id)


def integer(label, value, info, elem_id) -> gr.Component:
    return gr.Number(value=value, label=label, info=info, elem_id=elem_id, precision=0)


def choice(pairs: list[tuple[str, Any]]) -> Factory:
    def make(label, value, info, elem_id) -> gr.Component:
        return gr.Dropdown(choices=pairs, value=value, label=label, info=info, elem_id=elem_id)
    return make


def checkbox(label, value, info, elem_id) -> gr.Component:
    return gr.Checkbox(value=value, label=label, info=info, elem_id=elem_id)


@dataclass(frozen=True)
class Control:
    """One knob of the Train tab; its elem_id is its config key."""

    key: str
    label: str
    make: Factory
    info: str = ""
    advanced: bool = False

    @property
    def live(self) -> bool:
        return self.key in LIVE_KEYS

    def build(self, value: Any) -> gr.Component:
        when = "changes apply at once" if self.live else "takes effect after Reset"
        info = f"{self.info} · {when}" if self.info else when
        return self.make(self.label, value, info, self.key)


CONTROLS: tuple[Control, ...] = (
    Control("dataset", "Data", choice(labelled(DATASET_LABELS, DATASET_CHOICES)), "what G learns to imitate"),
    Control("arch", "Architecture", choice(labelled(ARCH_LABELS, ARCH_CHOICES))),
    Control("loss", "Loss", choice(labelled(LOSS_LABELS, LOSS_CHOICES)), "the game D and G play"),
    Control("lr_d", "Learning rate of D (lr_d)", number, "> 0, e.g. 0.001"),
    Control("lr_g", "Learning rate of G (lr_g)", number, "> 0, e.g. 0.001"),
    Control("d_steps", "D updates per step (d_steps)", integer, "1 to 50"),
    Control("g_steps", "G updates per step (g_steps)", integer, "1 to 50"),
    Control("batch_size", "Batch size", integer, "samples per update"),
    Control("z_dim", "Latent size (z_dim)", integer),
    Control("width", "Width", integer, "MLP hidden units / DCGAN base channels"),
    Control("depth", "Depth", integer, "MLP hidden layers"),
    Control("seed", "Seed", integer, "same seed, same run"),
    # Advanced: optimizers, penalties and tricks.
    Control("optimizer_d", "Optimizer of D", choice(labelled(OPTIMIZER_LABELS, OPTIMIZER_CHOICES)), advanced=True),
    Control("optimizer_g", "Optimizer of G", choice(labelled(OPTIMIZER_LABELS, OPTIMIZER_CHOICES)), advanced=True),
    Control("beta1", "Adam beta1", number, "[0, 1)", advanced=True),
    Control("beta2", "Adam beta2", number, "[0, 1)", advanced=True),
    Control("r1_gamma", "R1 penalty weight (r1_gamma)", number, ">= 0; 0 = off", advanced=True),
    Control("gp_lambda", "Gradient penalty weight (gp_lambda)", number, "used by WGAN-GP", advanced=True),
    Control("clip", "Weight clip (clip)", number, "used by WGAN", advanced=True),
    Control("label_smoothing", "One-sided label smoothing", number, "0 to 0.5", advanced=True),
    Control("instance_noise", "Instance noise (std)", number, "0 = off", advanced=True),
    Control("spectral_norm", "Spectral normalization on D", checkbox, advanced=True),
    Control("image_size", "Image size", choice([(f"{s}×{s}", s) for s in IMAGE_SIZES]),
            "image data only", advanced=True),
)
KEYS: tuple[str, ...] = tuple(c.key for c in CONTROLS)
LIVE_CONTROL_KEYS: tuple[str, ...] = tuple(c.key for c in CONTROLS if c.live)


def as_dict(values: Sequence[Any]) -> dict[str, Any]:
    """Positional control values (table order) -> {key: value}."""
    if len(values) != len(KEYS):
        raise ValueError(f"expected {len(KEYS)} control values, got {len(values)}")
    return dict(zip(KEYS, values))


def config_from_values(values: dict[str, Any]) -> TrainConfig:
    """The controls' values as a TrainConfig; a bad value raises ConfigError naming its key."""
    return TrainConfig().replace(**values)


def values_from_config(config: TrainConfig) -> list[Any]:
    """A config as the controls' values, in table order (for loading a preset)."""
    return [getattr(config, key) for key in KEYS]
