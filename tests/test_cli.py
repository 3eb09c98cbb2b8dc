"""The headless CLI (docs/ARCHITECTURE.md, "the CLI"): end-to-end runs in a subprocess, the
files they write, and bad input that exits 2 with one line instead of a traceback.

Each subprocess pays for importing torch (seconds), so only two run (the end-to-end ring run and
a refused config), started together once per module; the rest call `cli.main` in-process
(`python -m playground` is `sys.exit(main())`, so its return value is the exit status).
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground import cli
from playground import run as run_module
from playground.checkpoint import generate, load_generator
from playground.config import TrainConfig, load_preset, preset_names
from playground.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
CSV_COLUMNS = ["step", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The environment for CLI subprocesses: one thread, a private cache (digit classifier)."""
    return {**os.environ, "GAN_PLAYGROUND_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "GAN_PLAYGROUND_CACHE": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(autouse=True)
def keep_threads():
    """cli.main sets the process-wide thread count; put it back for the other tests."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, env):
    """The subprocess runs of this module, started together: each spends seconds importing
    torch, so in parallel they cost less wall time on 2 cores."""
    root = tmp_path_factory.mktemp("runs")
    commands = {
        # device=cpu: on a CUDA machine "auto" would train on the GPU, and the bit-exact
        # comparison with a CPU re-generation below needs the same device.
        "ring": ["train", "--preset", "ring_stable", "--steps", "30", "--out", str(root / "ring"),
                 "--set", "width=16", "device=cpu"],
        "bad_value": ["train", "--preset", "ring_stable", "--steps", "3", "--out", str(root / "bad"),
                      "--set", "lr_d=-1"],
    }
    running = {name: subprocess.Popen([sys.executable, "-m", "playground", *args], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, args in commands.items()}
    results = {}
    for name, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        results[name] = subprocess.CompletedProcess(commands[name], process.returncode, stdout, stderr)
    return root, results


@pytest.fixture(scope="module")
def ring_run(runs):
    root, results = runs
    assert results["ring"].returncode == 0, results["ring"].stderr
    return root / "ring", results["ring"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, env):
    """A digits run in-process (a third interpreter start would cost more than the run)."""
    out = tmp_path_factory.mktemp("digits")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_PLAYGROUND_CACHE", env["GAN_PLAYGROUND_CACHE"])   # digit classifier
        # Several key=value after one --set, as the DESIGN usage line reads.
        code = cli.main(["train", "--preset", "ring_stable", "--set", "dataset=digits", "image_size=8",
                         "--set", "width=16", "batch_size=32", "--steps", "5", "--out", str(out),
                         "--quiet"])
    torch.set_num_threads(threads)
    assert code == 0
    return out


def test_presets_lists_every_lesson(capsys):
    # In-process: `python -m playground presets` is sys.exit(main(["presets"])), and another
    # interpreter start would cost seconds of torch imports for no extra coverage.
    assert cli.main(["presets"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    names = [line.split()[0] for line in lines]
    assert sorted(names) == preset_names()
    assert {"ring_stable", "ring_collapse", "d_too_strong", "saturating_loss", "wgan_gp_grid",
            "digits_mlp", "digits_dcgan", "mnist_dcgan"} <= set(names)
    assert all(len(line.split(None, 1)) == 2 for line in lines)     # each with its summary
    assert captured.err == ""


def test_ring_run_writes_every_contract_file(ring_run):
    out, result = ring_run
    for name in ("config.json", "metrics.csv", "samples.npy", "real.npy", "samples.png",
                 "generator.safetensors", "summary.json"):
        assert (out / name).is_file(), name
    config = TrainConfig.from_json((out / "config.json").read_text())
    assert config == load_preset("ring_stable").replace(width=16, device="cpu")
    # The summary is the last line of stdout, too.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == json.loads((out / "summary.json").read_text())


def test_ring_metrics_csv(ring_run):
    out, _ = ring_run
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header[:7] == CSV_COLUMNS
    assert {"modes_covered", "js"} <= set(header[7:])
    steps = [int(r[0]) for r in body]
    assert steps == [10, 20, 30]                  # every LOG_EVERY-th step, the stride in the file
    assert {r[header.index("log_every")] for r in body} == {"10"}
    assert {"lr_d", "lr_g", "d_steps", "g_steps"} <= set(header)
    assert all(len(r) == len(header) for r in body)
    assert all(np.isfinite(float(v)) for r in body for v in r[1:7])
    last = dict(zip(header, body[-1]))
    assert last["js"] != "" and last["modes_covered"] != ""     # step 30 is an evaluation row


def test_ring_arrays_picture_and_summary(ring_run):
    out, _ = ring_run
    samples, real = np.load(out / "samples.npy"), np.load(out / "real.npy")
    assert samples.ndim == 2 and samples.shape[1] == 2 and samples.shape[0] >= 2000
    assert real.ndim == 2 and real.shape[1] == 2 and real.shape[0] >= 2000
    assert np.isfinite(samples).all() and np.isfinite(real).all()
    with Image.open(out / "samples.png") as picture:
        picture.verify()
    summary = json.loads((out / "summary.json").read_text())
    for key in ("modes_covered", "modes_total", "high_quality", "js", "steps", "wall_s", "steps_per_s"):
        assert key in summary, key
    assert summary["modes_total"] == 8 and 0 <= summary["modes_covered"] <= 8
    assert 0 <= summary["high_quality"] <= 1 and 0 <= summary["js"] <= np.log(2) + 1e-9
    assert summary["steps"] == 30 and summary["wall_s"] > 0 and summary["steps_per_s"] > 0


def test_samples_are_exactly_what_the_saved_generator_makes(ring_run):
    out, _ = ring_run
    config = TrainConfig.from_json((out / "config.json").read_text())
    generator, loaded_config, shape = load_generator(out / "generator.safetensors")
    assert loaded_config == config and shape == (2,)
    samples = np.load(out / "samples.npy")
    z = Trainer(config).fixed_z(len(samples))        # same seed, same fixed latent batch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                          # the CLI ran on one thread
    try:
        mine = generate(generator, z).numpy()
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(mine, samples)


def test_digits_run(digits_run):
    out = digits_run
    config = TrainConfig.from_json((out / "config.json").read_text())
    assert (config.dataset, config.image_size, config.width, config.batch_size) == ("digits", 8, 16, 32)
    samples = np.load(out / "samples.npy")
    assert samples.shape[0] >= 2000 and samples.shape[1:] == (1, 8, 8)
    assert samples.min() >= -1 and samples.max() <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["classes_covered"] <= 10 and summary["fd"] is not None and summary["fd"] >= 0
    assert summary["steps"] == 5
    with Image.open(out / "samples.png") as picture:
        picture.verify()
    generator, _, shape = load_generator(out / "generator.safetensors")
    assert shape == (1, 8, 8)


def test_config_file_from_a_previous_run(ring_run, tmp_path, capsys):
    previous, _ = ring_run
    code = cli.main(["train", "--config", str(previous / "config.json"), "--steps", "3",
                     "--set", "seed=4", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    config = TrainConfig.from_json((tmp_path / "config.json").read_text())
    assert config == TrainConfig.from_json((previous / "config.json").read_text()).replace(seed=4)
    assert json.loads((tmp_path / "summary.json").read_text())["steps"] == 3


def test_bad_value_exits_2_with_one_line(runs):
    root, results = runs
    result = results["bad_value"]
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "lr_d" in lines[0] and "Traceback" not in result.stderr
    assert not (root / "bad").exists()               # refused before anything was written


@pytest.mark.parametrize("args, word", [
    (["--preset", "ring_stable", "--set", "learning_rate=0.1"], "learning_rate"),   # unknown key
    (["--preset", "ring_stable", "--set", "width"], "width"),                      # no '='
    (["--preset", "ring_stable", "--set", "arch=dcgan"], "arch"),                  # dcgan on points
    (["--preset", "ring_stable", "--steps", "0"], "steps"),
    (["--preset", "no_such_lesson"], "no_such_lesson"),
    (["--config", "/nonexistent/config.json"], "config"),
])
def test_bad_input_exits_2_with_one_line_in_process(tmp_path, capsys, args, word):
    code = cli.main(["train", *args, "--out", str(tmp_path / "x"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and word in lines[0] and lines[0].startswith("error:")
    assert captured.out == ""


@pytest.mark.parametrize("diverge_at", [1, 3])
def test_a_diverged_run_still_writes_a_well_formed_csv(tmp_path, monkeypatch, diverge_at):
    class Poisoned(Trainer):
        """Sets one discriminator weight to inf just before step `diverge_at`."""
        def step(self, *args, **kwargs):
            if self.step_count == diverge_at - 1:
                with torch.no_grad():
                    next(self.discriminator.parameters()).fill_(float("inf"))
            return super().step(*args, **kwargs)

    monkeypatch.setattr(run_module, "Trainer", Poisoned)     # the one loop builds its Trainer
    config = TrainConfig(batch_size=8, width=8, depth=1, z_dim=4, device="cpu")
    summary = cli.train(config, 10, tmp_path, quiet=True)
    assert summary["diverged"] is True and summary["steps"] == diverge_at
    assert "divergence" in summary["findings"]
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:7] == CSV_COLUMNS                       # the header, even at step 1
    assert int(rows[-1][0]) == diverge_at and rows[-1][1] == "nan"
    assert all(len(r) == len(rows[0]) for r in rows[1:])   # every row as wide as the header
    for name in ("samples.npy", "real.npy", "samples.png", "generator.safetensors", "summary.json"):
        assert (tmp_path / name).is_file()
