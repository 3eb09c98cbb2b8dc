"""playground.budget: the estimate counts the networks, the optimizer state, one training step
and the evaluation pass (generate + metrics, chunked), every module including parametrized
ones, and refuses an over-budget run with a sentence in plain words and numbers."""
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from playground import budget, losses
from playground.budget import EVAL_CHUNK, MAX_RUN_BYTES, check_budget, estimate_bytes, size_words
from playground.config import LIVE_KEYS, ConfigError, TrainConfig, list_presets
from playground.models import build_models

ROOT = Path(__file__).resolve().parent.parent
# The config of the issue: estimated at 96 MB while its 2000-sample evaluation took +1.9 GB.
ISSUE = TrainConfig(dataset="digits", arch="dcgan", batch_size=1, width=64, image_size=64, z_dim=8,
                    device="cpu")
ISSUE_SHAPE = (1, 64, 64)


def shape_of(config):
    if not config.is_image:
        return (2,)
    channels = 3 if config.dataset in ("cifar10", "folder") else 1
    return (channels, config.image_size, config.image_size)


def test_the_evaluation_pass_is_counted():
    need = estimate_bytes(ISSUE, ISSUE_SHAPE)
    with torch.device("meta"):
        generator, _ = build_models("dcgan", ISSUE_SHAPE, 8, 64, ISSUE.depth)
        one_chunk = sum(t.numel() for t in _outputs(generator, torch.empty(EVAL_CHUNK, 8)))
    fakes = 2000 * math.prod(ISSUE_SHAPE)                # the 2000 samples that are evaluated
    assert need["total"] >= 4 * (one_chunk + fakes) + need["parameters"]


def _outputs(module, inputs):
    """The new tensors the leaf modules make (an in-place ReLU hands back its input)."""
    out = []
    hooks = [m.register_forward_hook(lambda _m, i, o: None if o is i[0] else out.append(o))
             for m in module.modules() if not list(m.children())]
    module(inputs)
    for hook in hooks:
        hook.remove()
    return out


PEAK_SCRIPT = r"""
import json, resource, sys
import torch
torch.set_num_threads(1)
from playground import metrics
from playground.budget import estimate_bytes
from playground.config import TrainConfig
from playground.trainer import Trainer
metrics.digit_classifier()            # trained once per cache, not part of a run
config = TrainConfig.from_json(sys.argv[1])
estimate_bytes(config, (1, 16, 16) if config.is_image else (2,))   # loads the meta-device code
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/statm") as f:
    baseline = int(f.read().split()[1]) * 4096
trainer = Trainer(config)
trainer.step()
samples = trainer.sample(2000).numpy()
metrics.evaluate(trainer.dataset, samples, trainer.dataset.real_samples(2000))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew": after > before, "peak": after * 1024 - baseline,
                  "estimate": estimate_bytes(config, trainer.dataset.shape)["total"]}))
"""


def test_the_issue_config_stays_within_its_estimate():
    # Measured in a fresh interpreter: the peak RSS of a build, a step and the evaluation pass.
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, ISSUE.to_json()], cwd=ROOT,
                            capture_output=True, text=True, timeout=240,
                            env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if out["grew"]:                   # else the run never went above the import-time peak
        assert out["peak"] <= 1.5 * out["estimate"] + 150 * 2**20, out


@pytest.mark.parametrize("config", [
    ISSUE.replace(batch_size=64, width=32, image_size=32),
    TrainConfig(dataset="digits", arch="mlp", image_size=16, batch_size=256),
    TrainConfig(dataset="ring", batch_size=512, width=256),
], ids=["dcgan", "mlp-images", "mlp-points"])
def test_spectral_norm_is_counted(config):
    plain = estimate_bytes(config, shape_of(config))
    spectral = estimate_bytes(config.replace(spectral_norm=True), shape_of(config))
    assert spectral["total"] >= plain["total"]
    assert spectral["step"] >= plain["step"]


def test_critic_batch_norm_comes_from_the_loss_registry(monkeypatch):
    seen = []
    real = budget.build_models

    def recording(*args, **kwargs):
        seen.append(kwargs.get("critic_batch_norm", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(budget, "build_models", recording)
    monkeypatch.setitem(losses.LOSSES, "hinge",
                        dataclasses.replace(losses.LOSSES["hinge"], critic_batch_norm=False))
    estimate_bytes(ISSUE.replace(loss="hinge", batch_size=8), ISSUE_SHAPE)
    estimate_bytes(ISSUE.replace(loss="wgan_gp", batch_size=8), ISSUE_SHAPE)
    estimate_bytes(ISSUE.replace(loss="lsgan", batch_size=8), ISSUE_SHAPE)
    assert seen == [False, False, True]


def test_refusal_is_a_plain_sentence_keyed_by_the_config_key():
    config = ISSUE.replace(batch_size=1024)
    with pytest.raises(ConfigError) as err:
        check_budget(config, ISSUE_SHAPE)
    assert err.value.key == "batch_size" and err.value.value == 1024
    message = str(err.value)
    assert message.startswith("Batch size 1024 needs about ")
    assert message.endswith(f"of memory; one run may use {size_words(MAX_RUN_BYTES)} here: "
                            "lower the batch size, width, image size or depth")
    assert "=" not in message and "'" not in message
    assert err.value.allowed.startswith("about ") and err.value.allowed.endswith("or depth")


def test_a_huge_network_is_refused_by_width():
    config = ISSUE.replace(width=512, z_dim=256)
    with pytest.raises(ConfigError, match=r"^Width 512 needs about \d+(\.\d)? GB of memory") as err:
        check_budget(config, ISSUE_SHAPE)
    assert err.value.key == "width"


def test_every_preset_fits():
    for preset in list_presets():
        check_budget(preset.config, shape_of(preset.config))


def test_estimate_grows_with_every_size():
    base = ISSUE.replace(batch_size=16, width=16, image_size=32)
    before = estimate_bytes(base, (1, 32, 32))
    for changes, shape in [({"width": 32}, (1, 32, 32)), ({"image_size": 64}, (1, 64, 64)),
                           ({}, (3, 32, 32))]:
        assert estimate_bytes(base.replace(**changes), shape)["total"] > before["total"]
    # The batch sizes the training step only; the run needs the larger of step and evaluation.
    bigger = estimate_bytes(base.replace(batch_size=64), (1, 32, 32))
    assert bigger["step"] > before["step"] and bigger["total"] >= before["total"]
    assert estimate_bytes(base.replace(batch_size=1024), (1, 32, 32))["total"] > before["total"]


@pytest.mark.parametrize("config", [ISSUE.replace(loss="wgan_gp", batch_size=8),
                                    TrainConfig(dataset="grid", batch_size=64)], ids=["dcgan", "mlp"])
def test_only_the_live_size_keys_move_the_estimate(config):
    # Trainer.apply checks the budget again only for LIVE_SIZE_KEYS: the others must not matter.
    values = {"lr_d": 0.5, "lr_g": 0.5, "beta1": 0.9, "beta2": 0.5, "d_steps": 5, "g_steps": 5,
              "batch_size": 16, "r1_gamma": 1.0, "gp_lambda": 0.0, "clip": 0.5,
              "label_smoothing": 0.2, "instance_noise": 0.3, "loss": "hinge"}
    assert set(values) == LIVE_KEYS
    before = estimate_bytes(config, shape_of(config))
    for key, value in values.items():
        after = estimate_bytes(config.replace(**{key: value}), shape_of(config))
        assert after == before or key in budget.LIVE_SIZE_KEYS, key
    assert estimate_bytes(config.replace(batch_size=16), shape_of(config)) != before
