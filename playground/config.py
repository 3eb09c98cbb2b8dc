"""TrainConfig: every knob of a run, validated, with a JSON round trip and the lesson presets.

One language for the whole tool: presets, the CLI's `--set key=value`, the UI controls and a
saved run all produce a TrainConfig through `TrainConfig.replace(**changes)`, so a bad value is
refused in one place with one message shape ("lr_d=-1 is not allowed: a number > 0").
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from array import array
from dataclasses import dataclass, field, fields
from itertools import accumulate
from pathlib import Path
from typing import Any

# Logic keys of the registries. Display labels live in the UI, never here.
POINT_DATASETS = ("ring", "grid", "spiral", "moons", "circles", "line", "csv")
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "folder")
DATASET_CHOICES = POINT_DATASETS + IMAGE_DATASETS
ARCH_CHOICES = ("mlp", "dcgan")
LOSS_CHOICES = ("minimax", "nonsaturating", "lsgan", "wgan", "wgan_gp", "hinge")
OPTIMIZER_CHOICES = ("adam", "sgd", "rmsprop")
DEVICE_CHOICES = ("auto", "cpu", "cuda")

# Resource caps: one visitor of a shared 2-vCPU / 16 GB Space must not be able to exhaust it.
MAX_BATCH = 1024
MAX_WIDTH = 512
MAX_DEPTH = 8
MAX_Z_DIM = 256
IMAGE_SIZES = (8, 16, 28, 32, 64)

# Keys that may change while a run is live: they are read by the trainer at every step (or
# pushed into the optimizers), so no tensor has to be rebuilt. Everything else needs a reset.
# `loss` too (the saturating_loss lesson switches it under a strong D), except where the new
# loss needs a DCGAN discriminator built another way (Trainer.check_live refuses that).
LIVE_KEYS = frozenset({
    "lr_d", "lr_g", "beta1", "beta2", "d_steps", "g_steps", "batch_size", "loss",
    "r1_gamma", "gp_lambda", "clip", "label_smoothing", "instance_noise",
})

# The lesson presets: playground/presets/ when installed (pyproject.toml maps the checkout's
# top-level presets/ folder there as package data), else presets/ beside the package (a checkout).
_PACKAGE_DIR = Path(__file__).resolve().parent
PRESETS_DIR = (_PACKAGE_DIR / "presets" if (_PACKAGE_DIR / "presets").is_dir()
               else _PACKAGE_DIR.parent / "presets")


class ConfigError(ValueError):
    """A config value that is not allowed; the message names the key, the value and the rule."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is not allowed: {allowed}")

    def __reduce__(self):
        # Raised in a run's own process (process_session.py) and again in the server's: rebuilt
        # from its fields and message, not from __init__'s arguments (BudgetError's differ).
        return _rebuilt_error, (type(self), self.args, dict(self.__dict__))


def _rebuilt_error(cls: type, args: tuple, fields: dict) -> ConfigError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a GAN run. Defaults train a small MLP GAN on the 8-Gaussian ring."""

    dataset: str = "ring"
    arch: str = "mlp"
    loss: str = "nonsaturating"
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    optimizer_d: str = "adam"
    optimizer_g: str = "adam"
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    g_steps: int = 1
    batch_size: int = 256
    z_dim: int = 8
    width: int = 128
    depth: int = 3
    image_size: int = 16
    r1_gamma: float = 0.0
    gp_lambda: float = 10.0      # used by loss=wgan_gp only
    clip: float = 0.01           # used by loss=wgan only
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    spectral_norm: bool = False
    seed: int = 0
    device: str = "auto"
    data_path: str = ""          # folder dataset: a directory or .zip of images
    data_root: str = ""          # download cache for mnist/fashion_mnist/cifar10 ("" = default)

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, coerce(f.name, getattr(self, f.name)))
        _check_combination(self)

    # --- construction ------------------------------------------------------------------
    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with `changes` applied; unknown keys and bad values raise ConfigError."""
        for key in changes:
            if key not in FIELD_TYPES:
                raise ConfigError(key, changes[key], f"a known key ({', '.join(FIELD_TYPES)})")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Defaults overridden by `values` (e.g. a preset's differences or a saved config)."""
        if not isinstance(values, dict):
            raise ConfigError("config", values, "a JSON object of key: value")
        return cls().replace(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def diff(self) -> dict[str, Any]:
        """Only the values that differ from the defaults (what a preset stores)."""
        default = TrainConfig()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        """A config from JSON text (a saved run, an upload): bad text is a ConfigError too."""
        if len(text) > MAX_JSON_CHARS:
            raise ConfigError("config", text[:40], "a flat JSON object of key: value "
                              f"(this text is longer than {MAX_JSON_CHARS >> 20} MB)")
        if _nests_deeper_than(text, MAX_JSON_DEPTH):
            raise ConfigError("config", text[:40], "a flat JSON object of key: value "
                              f"(this text nests more than {MAX_JSON_DEPTH} levels deep)")
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError("config", text[:40], f"valid JSON ({err.msg})") from None
        return cls.from_dict(values)

    @property
    def is_image(self) -> bool:
        return self.dataset in IMAGE_DATASETS


FIELD_TYPES: dict[str, type] = {f.name: f.type for f in fields(TrainConfig)}
_TYPES = {"str": str, "float": float, "int": int, "bool": bool}

# A config is one flat object; json's recursive parser overflows the stack (RecursionError) at
# a few thousand levels, and 60 kB of "[" is enough for that, so depth is bounded before parsing.
MAX_JSON_DEPTH = 32
MAX_JSON_CHARS = 2**20       # a full config is under 1 kB; this bounds the scan below to ~0.1 s
# Strings are dropped first (their brackets are just text). Possessive and with an optional
# closing quote, so an unterminated string cannot make the scan quadratic.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")   # +1 / -1 as signed bytes


def _nests_deeper_than(text: str, limit: int) -> bool:
    """Whether the brackets of `text` outside its strings nest more than `limit` levels.

    The running depth is a cumulative sum of +1 / -1 steps, done in C (accumulate over a
    signed byte array): no Python loop per character. Unclosed brackets count as open.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).encode()
    return max(accumulate(array("b", brackets.translate(_DEPTH_STEP))), default=0) > limit


# key -> (rule text, predicate on the coerced value)
_RULES: dict[str, tuple[str, Any]] = {
    "dataset": (f"one of {DATASET_CHOICES}", lambda v: v in DATASET_CHOICES),
    "arch": (f"one of {ARCH_CHOICES}", lambda v: v in ARCH_CHOICES),
    "loss": (f"one of {LOSS_CHOICES}", lambda v: v in LOSS_CHOICES),
    "optimizer_d": (f"one of {OPTIMIZER_CHOICES}", lambda v: v in OPTIMIZER_CHOICES),
    "optimizer_g": (f"one of {OPTIMIZER_CHOICES}", lambda v: v in OPTIMIZER_CHOICES),
    "device": (f"one of {DEVICE_CHOICES}", lambda v: v in DEVICE_CHOICES),
    "lr_d": ("a number > 0 and <= 1", lambda v: 0 < v <= 1),
    "lr_g": ("a number > 0 and <= 1", lambda v: 0 < v <= 1),
    "beta1": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "beta2": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "d_steps": ("an integer from 1 to 50", lambda v: 1 <= v <= 50),
    "g_steps": ("an integer from 1 to 50", lambda v: 1 <= v <= 50),
    "batch_size": (f"an integer from 1 to {MAX_BATCH}", lambda v: 1 <= v <= MAX_BATCH),
    "z_dim": (f"an integer from 1 to {MAX_Z_DIM}", lambda v: 1 <= v <= MAX_Z_DIM),
    "width": (f"an integer from 4 to {MAX_WIDTH}", lambda v: 4 <= v <= MAX_WIDTH),
    "depth": (f"an integer from 1 to {MAX_DEPTH}", lambda v: 1 <= v <= MAX_DEPTH),
    "image_size": (f"one of {IMAGE_SIZES}", lambda v: v in IMAGE_SIZES),
    "r1_gamma": ("a number >= 0 and <= 1000", lambda v: 0 <= v <= 1000),
    "gp_lambda": ("a number >= 0 and <= 1000", lambda v: 0 <= v <= 1000),
    "clip": ("a number >= 0 and <= 10", lambda v: 0 <= v <= 10),
    "label_smoothing": ("a number in [0, 0.5]", lambda v: 0 <= v <= 0.5),
    "instance_noise": ("a number in [0, 10]", lambda v: 0 <= v <= 10),
    "spectral_norm": ("true or false", lambda v: True),
    "seed": ("an integer from 0 to 2147483647", lambda v: 0 <= v < 2**31),
    "data_path": ("a path string", lambda v: True),
    "data_root": ("a path string", lambda v: True),
}


def coerce(key: str, value: Any) -> Any:
    """`value` converted to the type of `key` and checked against its rule, or ConfigError.

    Accepts text for numbers and booleans (CLI `--set`, form fields); refuses None, NaN and
    infinities, and floats with a fraction where an integer belongs.
    """
    if key not in FIELD_TYPES:
        raise ConfigError(key, value, f"a known key ({', '.join(FIELD_TYPES)})")
    rule, ok = _RULES[key]
    kind = _TYPES[FIELD_TYPES[key]]
    if value is None or (isinstance(value, str) and not value.strip() and kind is not str):
        raise ConfigError(key, value, f"{rule} (the value is empty)")
    try:
        converted = _convert(kind, value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(key, value, rule) from None
    if not ok(converted):
        raise ConfigError(key, value, rule)
    return converted


def _convert(kind: type, value: Any) -> Any:
    if kind is str:
        if not isinstance(value, str):
            raise TypeError
        return value.strip()
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
            return False
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise ValueError
    if isinstance(value, bool):   # True is an int in Python; never a learning rate
        raise TypeError
    number = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError
    if kind is int:
        if number != int(number):
            raise ValueError
        return int(number)
    return number


def _check_combination(config: TrainConfig) -> None:
    """Rules that involve two keys."""
    if config.arch == "dcgan" and not config.is_image:
        raise ConfigError("arch", "dcgan", f"'mlp' for point data (dataset={config.dataset!r})")


def check_live(changes: dict[str, Any]) -> None:
    """Refuse changes that cannot be applied to a running trainer (they need a reset)."""
    for key in changes:
        if key not in LIVE_KEYS:
            raise ConfigError(key, changes[key],
                              f"a reset (only {', '.join(sorted(LIVE_KEYS))} change live)")


# --- presets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    """A lesson: the config differences, the suggested length and the text shown to the class,
    plus what checks the text (playground/lessons.py reads and validates these JSON values):
    `claims` (what the class will see), `try_next` (each "Try next" of the text as a live edit
    and the change it promises) and `question` (predict, then run)."""

    name: str
    title: str
    summary: str
    lesson: str
    config: TrainConfig
    steps: int
    claims: tuple = ()
    try_next: tuple = ()
    question: dict = field(default_factory=dict)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def get_preset(name: str) -> Preset:
    names = preset_names()
    if name not in names:          # checked before any path is built from a visitor's string
        raise ConfigError("preset", name, f"one of {names}")
    path = PRESETS_DIR / f"{name}.json"
    raw = json.loads(path.read_text())
    return Preset(name=raw["name"], title=raw["title"], summary=raw["summary"],
                  lesson=raw["lesson"], config=TrainConfig.from_dict(raw.get("config", {})),
                  steps=int(raw["steps"]), claims=tuple(raw.get("claims", ())),
                  try_next=tuple(raw.get("try_next", ())), question=dict(raw.get("question") or {}))


def load_preset(name: str) -> TrainConfig:
    """The TrainConfig of preset `name` (engine API)."""
    return get_preset(name).config


def list_presets() -> list[Preset]:
    return [get_preset(n) for n in preset_names()]


def rule(key: str) -> str:
    """The allowed values of `key` in words ("an integer from 1 to 50"): one text for the
    refusal message and the control's hint."""
    return _RULES[key][0]
