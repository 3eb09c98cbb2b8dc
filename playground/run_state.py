"""A whole run on disk: G, D, both optimizers, the data and noise streams, the step and the config.

    save_run("run/checkpoint.safetensors", trainer)
    trainer = load_run("run/checkpoint.safetensors")     # carries on exactly where it stopped

generator.safetensors (checkpoint.py) is enough to *look* at a generator; to go on *training*
a run must come back whole, or the next step is a different step: Adam's moments and step
counts, D's weights, BatchNorm statistics, spectral norm's vectors, and the positions of the
run's two random streams (the data batches, and the noise z / instance noise / penalty mixes).
All of them are tensors or small JSON, so the file is safetensors with JSON metadata, like the
generator checkpoint: never a pickle, because a checkpoint may come from a stranger.

A run saved at step 500, loaded and trained 100 steps ends with the same numbers as a run
trained 600 steps without a stop (CPU, same seed; tests/test_run_state.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .checkpoint import CheckpointError
from .config import ConfigError, TrainConfig
from .trainer import StepStats, Trainer

KIND = "gan-playground-run"
FORMAT = 1


def save_run(path: str | Path, trainer: Trainer, config: TrainConfig | None = None) -> Path:
    """Write everything `trainer` needs to carry on (call between steps). `config` replaces the
    trainer's in the file (the app writes data_path="" so no server path leaves the server)."""
    tensors: dict[str, torch.Tensor] = {}
    groups = {}
    for name, module in (("g", trainer.generator), ("d", trainer.discriminator)):
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().cpu().contiguous()
    for name, optimizer in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        state = optimizer.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if torch.is_tensor(value):
                    tensors[f"{name}.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}.{key}"] = value
        groups[name] = {"param_groups": state["param_groups"], "scalars": scalars}
    tensors["rng.data"] = trainer.data_rng.get_state()
    tensors["rng.noise"] = trainer.noise_rng.get_state().cpu()
    last = trainer.last_stats.to_dict() if trainer.last_stats else None
    metadata = {"kind": KIND, "format": str(FORMAT), "config": (config or trainer.config).to_json(),
                "step": str(trainer.step_count), "shape": json.dumps(list(trainer.dataset.shape)),
                "optimizers": json.dumps(groups), "last_stats": json.dumps(last),
                "diverged": json.dumps(trainer.diverged)}
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def read_config(path: str | Path) -> TrainConfig:
    """The config a run checkpoint holds (from its header only: nothing is built)."""
    return TrainConfig.from_json(_metadata(Path(path))["config"])


def load_run(path: str | Path, trainer: Trainer | None = None) -> Trainer:
    """A Trainer that carries on where the saved run stopped. `trainer` (fresh, built from the
    file's config, e.g. under the app's build lock) is filled in; None builds one here."""
    path = Path(path)
    metadata = _metadata(path)
    config = TrainConfig.from_json(metadata["config"])
    trainer = trainer if trainer is not None else Trainer(config)   # budget checked before any tensor
    if trainer.config.to_dict() != config.to_dict() or list(trainer.dataset.shape) != json.loads(metadata["shape"]):
        raise CheckpointError(f"{path.name!r} is a run of another config or data shape")
    tensors = load_file(str(path))
    try:
        for name, module in (("g", trainer.generator), ("d", trainer.discriminator)):
            module.load_state_dict(_prefixed(tensors, f"{name}."))
        groups = json.loads(metadata["optimizers"])
        for name, optimizer in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
            optimizer.load_state_dict(_optimizer_state(tensors, name, groups[name]))
        trainer.data_rng.set_state(tensors["rng.data"])
        trainer.noise_rng.set_state(tensors["rng.noise"])
    except (KeyError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"{path.name!r} does not fit its own config: {str(err)[:200]}") from None
    trainer.step_count = int(metadata["step"])
    last = json.loads(metadata["last_stats"])
    trainer.last_stats = StepStats(**last) if last else None
    trainer.diverged = bool(json.loads(metadata["diverged"]))
    trainer.apply()                     # the saved param groups carry the saved learning rates
    return trainer


def is_run_file(path: str | Path) -> bool:
    """True when `path` is a whole-run checkpoint (not a generator-only one)."""
    try:
        return _metadata(Path(path)).get("kind") == KIND
    except CheckpointError:
        return False


def _metadata(path: Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name!r} is not a safetensors checkpoint ({err})") from None
    if metadata.get("kind") != KIND:
        raise CheckpointError(f"{path.name!r} holds a generator only, not a whole run: it can be "
                              "walked in the Latent space tab but not trained further")
    try:
        TrainConfig.from_json(metadata["config"])
    except (KeyError, ConfigError) as err:
        raise CheckpointError(f"{path.name!r} has no usable config ({err})") from None
    return metadata


def _prefixed(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _optimizer_state(tensors: dict, name: str, saved: dict) -> dict:
    """An optimizer's state_dict rebuilt from its tensors and its JSON scalars."""
    state: dict[int, dict] = {}
    for key, value in _prefixed(tensors, f"{name}.").items():
        index, entry = key.split(".", 1)
        state.setdefault(int(index), {})[entry] = value
    for key, value in saved["scalars"].items():
        index, entry = key.split(".", 1)
        state.setdefault(int(index), {})[entry] = value
    return {"state": state, "param_groups": saved["param_groups"]}
