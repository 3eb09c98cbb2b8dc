"""The Train tab's controls as one table: key, label, component factory, main or "Advanced".

Everything per-key lives here, so the tab and its handlers loop over CONTROLS instead of
repeating code for each knob. Handlers receive the controls' values as a dict keyed by config
key (ui/page.py maps components to keys), and `config_from_values` turns them into a
TrainConfig through TrainConfig.replace, so validation happens in one place: config.py.
The hint under a typed control is config.rule(key): the allowed range is written once.

Typed numbers are text boxes, not gr.Number: Gradio converts a gr.Number's value before the
app sees it and fails with a generic error on text, NaN or an empty box, while TrainConfig's
refusal names the field. A decimal comma ("0,001") is read as a decimal point.

Whether a key can change during a run is *not* repeated here: it is config.LIVE_KEYS.
Dropdowns show human labels but their values are the registry keys: labels are never logic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gradio as gr

from ..config import (ARCH_CHOICES, DATASET_CHOICES, FIELD_TYPES, IMAGE_SIZES, LIVE_KEYS,
                      LOSS_CHOICES, OPTIMIZER_CHOICES, TrainConfig, rule)

DATASET_LABELS = {
    "ring": "8 Gaussians on a ring", "grid": "25 Gaussians on a grid", "spiral": "spiral",
    "moons": "two moons", "circles": "two circles", "line": "a line segment",
    # Like `folder`, its path is set server side from the visitor's upload or drawing.
    "csv": "your own 2D points (upload a CSV or draw)",
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
    # No minimum/maximum and no gr.Number on purpose: Gradio would refuse bad input with its
    # own generic error, while TrainConfig's message names the field and the allowed range.
    return gr.Textbox(value=shown(value), label=label, info=info, elem_id=elem_id, max_lines=1)


integer = number


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

    @property
    def typed(self) -> bool:
        return self.make is number

    def build(self, value: Any) -> gr.Component:
        when = "changes apply at once" if self.live else "takes effect after Reset"
        hint = rule(self.key) if self.typed else ""
        info = " · ".join(part for part in (hint, self.info, when) if part)
        return self.make(self.label, value, info, self.key)


CONTROLS: tuple[Control, ...] = (
    Control("dataset", "Data", choice(labelled(DATASET_LABELS, DATASET_CHOICES)), "what G learns to imitate"),
    Control("arch", "Architecture", choice(labelled(ARCH_LABELS, ARCH_CHOICES))),
    Control("loss", "Loss", choice(labelled(LOSS_LABELS, LOSS_CHOICES)), "the game D and G play"),
    Control("lr_d", "Learning rate of D (lr_d)", number, "e.g. 0.001"),
    Control("lr_g", "Learning rate of G (lr_g)", number, "e.g. 0.001"),
    Control("d_steps", "D updates per step (d_steps)", integer),
    Control("g_steps", "G updates per step (g_steps)", integer),
    Control("batch_size", "Batch size", integer, "samples per update"),
    Control("z_dim", "Latent size (z_dim)", integer),
    Control("width", "Width", integer, "MLP hidden units / DCGAN base channels"),
    Control("depth", "Depth", integer, "MLP hidden layers"),
    Control("seed", "Seed", integer, "same seed, same run"),
    # Advanced: optimizers, penalties and tricks.
    Control("optimizer_d", "Optimizer of D", choice(labelled(OPTIMIZER_LABELS, OPTIMIZER_CHOICES)), advanced=True),
    Control("optimizer_g", "Optimizer of G", choice(labelled(OPTIMIZER_LABELS, OPTIMIZER_CHOICES)), advanced=True),
    Control("beta1", "Adam beta1", number, advanced=True),
    Control("beta2", "Adam beta2", number, advanced=True),
    Control("r1_gamma", "R1 penalty weight (r1_gamma)", number, "0 = off", advanced=True),
    Control("gp_lambda", "Gradient penalty weight (gp_lambda)", number, "used by WGAN-GP", advanced=True),
    Control("clip", "Weight clip (clip)", number, "used by WGAN", advanced=True),
    Control("label_smoothing", "One-sided label smoothing", number, advanced=True),
    Control("instance_noise", "Instance noise (std)", number, "0 = off", advanced=True),
    Control("spectral_norm", "Spectral normalization on D", checkbox, advanced=True),
    Control("image_size", "Image size", choice([(f"{s}×{s}", s) for s in IMAGE_SIZES]),
            "image data only", advanced=True),
)
KEYS: tuple[str, ...] = tuple(c.key for c in CONTROLS)
LIVE_CONTROL_KEYS: tuple[str, ...] = tuple(c.key for c in CONTROLS if c.live)
LABELS: dict[str, str] = {c.key: c.label for c in CONTROLS}


def shown(value: Any) -> Any:
    """A number as its box shows it: 0.001, 64 (not 1e-03 or 64.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def typed(key: str, value: Any) -> Any:
    """A typed value as the config reads it: a decimal comma becomes a point ("0,001")."""
    if isinstance(value, str) and FIELD_TYPES.get(key) in ("float", "int"):
        text = value.strip()
        if text.count(",") == 1 and "." not in text:
            return text.replace(",", ".")
        return text
    return value


def config_from_values(values: dict[str, Any]) -> TrainConfig:
    """The controls' values as a TrainConfig; a bad value raises ConfigError naming its key."""
    return TrainConfig().replace(**{k: typed(k, v) for k, v in values.items()})


def values_from_config(config: TrainConfig) -> dict[str, Any]:
    """A config as the controls' values, by key (for loading a preset)."""
    return {key: shown(getattr(config, key)) if _typed_key(key) else getattr(config, key)
            for key in KEYS}


def _typed_key(key: str) -> bool:
    return any(c.key == key and c.typed for c in CONTROLS)
