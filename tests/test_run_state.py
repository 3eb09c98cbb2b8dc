"""A whole run saved, loaded and trained on equals a run that never stopped (CPU, same seed)."""
import numpy as np
import pytest
import torch

from playground.checkpoint import CheckpointError, save_generator
from playground.cli import main as cli_main
from playground.config import TrainConfig
from playground.run_state import is_run_file, load_run, read_config, save_run
from playground.trainer import Trainer

TINY = TrainConfig(width=16, depth=2, batch_size=32, z_dim=2, seed=5, device="cpu",
                   instance_noise=0.05, r1_gamma=0.5)


def params(trainer):
    return [p.detach().clone() for m in (trainer.generator, trainer.discriminator)
            for p in m.state_dict().values()]


@pytest.mark.parametrize("config", [TINY, TINY.replace(dataset="digits", arch="dcgan", image_size=16,
                                                       width=8, loss="wgan_gp", spectral_norm=True,
                                                       r1_gamma=0.0, instance_noise=0.0)])
def test_saved_at_50_loaded_and_trained_20_equals_70_steps_straight(tmp_path, config):
    straight = Trainer(config)
    for _ in range(70):
        last = straight.step()
    stopped = Trainer(config)
    for _ in range(50):
        stopped.step()
    save_run(tmp_path / "checkpoint.safetensors", stopped)
    resumed = load_run(tmp_path / "checkpoint.safetensors")
    assert resumed.step_count == 50
    for _ in range(20):
        again = resumed.step()
    assert again == last                                  # every number of the last step
    assert all(torch.equal(a, b) for a, b in zip(params(straight), params(resumed)))


def test_a_generator_only_file_is_not_a_run(tmp_path):
    trainer = Trainer(TINY)
    path = save_generator(tmp_path / "generator.safetensors", trainer.generator, TINY, (2,))
    assert not is_run_file(path)
    with pytest.raises(CheckpointError, match="generator only"):
        load_run(path)
    save_run(tmp_path / "run.safetensors", trainer)
    assert is_run_file(tmp_path / "run.safetensors") and read_config(tmp_path / "run.safetensors") == TINY


def test_the_cli_resumes_a_run_for_n_more_steps(tmp_path):
    first, second, straight = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    base = ["train", "--preset", "ring_stable", "--set", "width=16", "batch_size=32", "device=cpu",
            "--quiet"]
    assert cli_main(base + ["--steps", "50", "--out", str(first)]) == 0
    assert cli_main(["train", "--resume", str(first), "--steps", "30", "--out", str(second), "--quiet"]) == 0
    assert cli_main(base + ["--steps", "80", "--out", str(straight)]) == 0
    assert np.array_equal(np.load(second / "samples.npy"), np.load(straight / "samples.npy"))
    rows = (second / "metrics.csv").read_text().splitlines()
    assert rows[1].startswith("60,") and rows[-1].startswith("80,")
    assert cli_main(["train", "--resume", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
