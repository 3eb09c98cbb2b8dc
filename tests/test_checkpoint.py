"""playground.checkpoint: a saved generator comes back bit for bit; anything that is not a
GAN Playground safetensors file (a pickle in disguise, garbage, a mismatched config) is refused
with CheckpointError and never executed."""
import json
import os
import pathlib
import pickle
import struct

import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from playground import checkpoint
from playground.checkpoint import CheckpointError, generate, load_generator, save_generator
from playground.config import TrainConfig
from playground.trainer import Trainer

TINY = dict(batch_size=8, width=8, depth=1, z_dim=4, device="cpu")
CONFIGS = {
    "points-mlp": TrainConfig(dataset="ring", **TINY),
    "digits-dcgan": TrainConfig(dataset="digits", arch="dcgan", image_size=16, **TINY),
    "digits-mlp": TrainConfig(dataset="digits", arch="mlp", image_size=8, **TINY),
}


def trained(name, steps=3):
    trainer = Trainer(CONFIGS[name])
    for _ in range(steps):          # BatchNorm running statistics move away from their init
        trainer.step()
    return trainer


@pytest.mark.parametrize("name", CONFIGS)
def test_round_trip_gives_identical_outputs(tmp_path, name):
    trainer = trained(name)
    path = save_generator(tmp_path / "g.safetensors", trainer.generator, trainer.config,
                          trainer.dataset.shape)
    generator, config, shape = load_generator(path)
    assert config == trainer.config and shape == trainer.dataset.shape
    assert not generator.training
    z = trainer.fixed_z(32)
    assert torch.equal(generate(generator, z), trainer.generate(z))
    assert torch.equal(generate(generator, z), trainer.sample(32))
    # Saving did not leave the trainer's generator in eval mode.
    assert trainer.generator.training


def test_config_argument_overrides_the_metadata(tmp_path):
    trainer = trained("points-mlp", steps=1)
    path = save_generator(tmp_path / "g.safetensors", trainer.generator, trainer.config, (2,))
    (tmp_path / "config.json").write_text(trainer.config.replace(seed=5).to_json())
    config = TrainConfig.from_json((tmp_path / "config.json").read_text())
    _, loaded, _ = load_generator(path, config)
    assert loaded.seed == 5


def pickle_bomb(marker: pathlib.Path) -> bytes:
    """A pickle that creates `marker` when it is unpickled: code execution in miniature."""
    class Payload:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))
    return pickle.dumps(Payload())


def test_the_pickle_payload_is_live(tmp_path):
    # Control: the payload really runs code when a pickle loader reads it.
    control = tmp_path / "control"
    pickle.loads(pickle_bomb(control))
    assert control.exists()


@pytest.mark.parametrize("how", ["pickle", "torch_save"])
def test_pickle_renamed_safetensors_is_refused_and_not_run(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "generator.safetensors"
    if how == "pickle":
        path.write_bytes(pickle_bomb(marker))
    else:
        class Payload:
            def __reduce__(self):
                return (pathlib.Path.touch, (marker,))
        torch.save({"net.0.weight": torch.ones(2, 2), "evil": Payload()}, path)
    with pytest.raises(CheckpointError, match="not a safetensors checkpoint"):
        load_generator(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [
    b"",
    b"abc",
    os.urandom(4096),
    struct.pack("<Q", 9) + b"{not json",                       # header length ok, JSON broken
    struct.pack("<Q", 2**40) + b"{}",                          # header length far past the end
    struct.pack("<Q", 2) + b"[]",
    (lambda h: struct.pack("<Q", len(h)) + h)(json.dumps(     # tensor data missing
        {"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode()),
], ids=["empty", "short", "random", "bad-json", "huge-header", "json-list", "truncated"])
def test_garbage_is_refused(tmp_path, content):
    path = tmp_path / "g.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_generator(path)


def test_missing_and_oversized_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "nope.safetensors")
    trainer = trained("points-mlp", steps=0)
    path = save_generator(tmp_path / "g.safetensors", trainer.generator, trainer.config, (2,))
    monkeypatch.setattr(checkpoint, "MAX_CHECKPOINT_BYTES", 100)
    with pytest.raises(CheckpointError, match="larger"):
        load_generator(path)


def test_safetensors_without_our_metadata_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(3)}, str(path))
    with pytest.raises(CheckpointError, match="metadata"):
        load_generator(path)
    save_file({"w": torch.ones(3)}, str(path), metadata={"config": '{"lr_d": -1}', "shape": "[2]"})
    with pytest.raises(CheckpointError, match="metadata"):
        load_generator(path)


@pytest.mark.parametrize("name, changes", [
    ("points-mlp", {"width": 16}),
    ("points-mlp", {"z_dim": 5}),
    ("points-mlp", {"depth": 2}),
    ("digits-dcgan", {"width": 4}),
    ("digits-dcgan", {"arch": "mlp"}),
])
def test_mismatched_config_is_refused(tmp_path, name, changes):
    trainer = trained(name, steps=0)
    path = save_generator(tmp_path / "g.safetensors", trainer.generator, trainer.config,
                          trainer.dataset.shape)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_generator(path, trainer.config.replace(**changes))


@pytest.mark.parametrize("config, shape", [
    (CONFIGS["digits-dcgan"], [1, 9, 9]),      # a DCGAN cannot be built for 9x9
    (CONFIGS["digits-dcgan"], [2]),            # a DCGAN for point data
    (CONFIGS["points-mlp"], [-1]),             # a negative dimension
])
def test_tampered_shape_metadata_is_a_checkpoint_error(tmp_path, config, shape):
    # Checkpoints come from strangers: whatever the metadata says, the caller gets one error
    # type to catch, not a ValueError / RuntimeError from deep inside the model builders.
    path = tmp_path / "tampered.safetensors"
    save_file({"w": torch.ones(2)}, str(path),
              metadata={"config": config.to_json(), "shape": json.dumps(shape)})
    with pytest.raises(CheckpointError):
        load_generator(path)


# --- metadata that asks for more than the file holds ----------------------------------------
ROOT = pathlib.Path(__file__).resolve().parent.parent
# One tiny tensor, and metadata asking for a generator of ~200M parameters (1.4 GB was built).
HUGE = {"dataset": "digits", "arch": "dcgan", "width": 512, "image_size": 64, "z_dim": 256}


def huge_request(path):
    save_file({"w": torch.ones(1)}, str(path),
              metadata={"config": json.dumps(HUGE), "shape": "[1, 64, 64]"})
    return path


REFUSAL_SCRIPT = r"""
import json, resource, sys
import torch
from playground.budget import estimate_bytes
from playground.checkpoint import CheckpointError, load_generator
from playground.config import TrainConfig
# A server has built a run before: the meta-device code (PyTorch imports sympy for it, ~160 MB
# once per process) is loaded already, and is no part of this checkpoint's cost.
estimate_bytes(TrainConfig(dataset="digits", arch="dcgan", width=4, batch_size=1), (1, 16, 16))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_generator(sys.argv[1])
    message = None
except CheckpointError as err:
    message = str(err)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"message": message, "grown_kb": grown}))
"""


def test_over_budget_metadata_is_refused_before_any_network_is_built(tmp_path):
    path = huge_request(tmp_path / "tiny.safetensors")
    assert path.stat().st_size < 1000
    done = subprocess.run([sys.executable, "-c", REFUSAL_SCRIPT, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["message"] and "GB" in out["message"] and "tiny.safetensors" in out["message"]
    assert str(tmp_path) not in out["message"]                 # no server path in a message
    assert out["grown_kb"] < 50 * 1024                         # peak RSS grew < 50 MB


def test_tensors_that_do_not_match_the_config_are_refused_before_loading(tmp_path, monkeypatch):
    trainer = trained("points-mlp", steps=0)
    tensors = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    loads = []
    monkeypatch.setattr(checkpoint, "load_file", lambda *a, **k: loads.append(a) or {})
    for name, change in [("extra", lambda t: t.update(extra=torch.ones(1))),
                         ("missing", lambda t: t.pop(next(iter(t)))),
                         ("reshaped", lambda t: t.update({k: v.flatten() for k, v in t.items()}))]:
        bad = dict(tensors)
        change(bad)
        path = tmp_path / f"{name}.safetensors"
        save_file(bad, str(path), metadata={"config": trainer.config.to_json(), "shape": "[2]"})
        with pytest.raises(CheckpointError, match="do not fit"):
            load_generator(path)
    assert loads == []                                          # refused from the header alone


def test_load_config_file_is_gone():
    assert not hasattr(checkpoint, "load_config_file")       # TrainConfig.from_json does it
