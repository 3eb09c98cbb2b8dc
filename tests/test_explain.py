"""playground.explain and charts.explain: an explained step IS a normal step (same weights,
optimizer state, RNG streams and StepStats from the same seed), the G phase's fakes are the
updated G on the same z, and each phase's picture differs from the one before it.

Tiny sizes throughout: the whole file runs in a few seconds on one thread.
"""
import copy

import numpy as np
import pytest
import torch

from playground.charts.explain import phase_figure, phase_image
from playground.config import TrainConfig
from playground.explain import PHASE_NAMES, SHOWN_IMAGES, explain_step
from playground.field import ARROW_COUNT, extent_of
from playground.trainer import Trainer

TINY_IMAGES = dict(batch_size=12, width=8, depth=1, z_dim=4, image_size=16, device="cpu")
RING = TrainConfig(batch_size=64, width=32, depth=2, device="cpu")
CONFIGS = {
    "ring": RING,
    # every extra pass and random draw a step can make: penalties, noise, spectral norm, ratios
    "ring-penalties": RING.replace(spectral_norm=True, r1_gamma=1.0, instance_noise=0.1,
                                   label_smoothing=0.1, d_steps=2, g_steps=2),
    "digits-mlp": TrainConfig(dataset="digits", arch="mlp", **TINY_IMAGES),
    # BatchNorm in G (train-mode statistics, running buffers) and WGAN-GP's interpolates
    "digits-dcgan-gp": TrainConfig(dataset="digits", arch="dcgan", loss="wgan_gp",
                                   instance_noise=0.1, **TINY_IMAGES),
}


def trained(config, steps=3):
    trainer = Trainer(config)
    for _ in range(steps):
        trainer.step()
    return trainer


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert_same_tensors(a[key], b[key])
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def assert_same_run(a: Trainer, b: Trainer):
    assert a.step_count == b.step_count and a.last_stats == b.last_stats
    assert_same_tensors(a.generator.state_dict(), b.generator.state_dict())        # buffers too
    assert_same_tensors(a.discriminator.state_dict(), b.discriminator.state_dict())
    for opt_a, opt_b in ((a.opt_g, b.opt_g), (a.opt_d, b.opt_d)):
        assert_same_tensors(opt_a.state_dict()["state"], opt_b.state_dict()["state"])
    assert torch.equal(a.data_rng.get_state(), b.data_rng.get_state())
    assert torch.equal(a.noise_rng.get_state(), b.noise_rng.get_state())


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_an_explained_step_is_a_normal_step(config):
    explained, stepped = trained(config), trained(config)
    phases = explain_step(explained)
    stats = stepped.step()
    assert [phase.name for phase in phases] == list(PHASE_NAMES)
    assert explained.step_count == 4 and explained.last_stats == stats and stats.step == 4
    assert_same_run(explained, stepped)
    assert explained.step() == stepped.step()              # and the runs go on as one
    assert_same_run(explained, stepped)


def test_before_means_before_the_step():
    # One D update, no noise, no spectral norm, no BatchNorm: D's scores of the batch "before"
    # are exactly what the D update measured (StepStats.d_real / d_fake).
    trainer = trained(RING)
    batch, d_update, _ = explain_step(trainer)
    assert np.mean(batch.arrays["d_real"]) == pytest.approx(trainer.last_stats.d_real, abs=1e-6)
    assert np.mean(batch.arrays["d_fake"]) == pytest.approx(trainer.last_stats.d_fake, abs=1e-6)
    np.testing.assert_array_equal(d_update.arrays["d_real_before"], batch.arrays["d_real"])
    np.testing.assert_array_equal(d_update.arrays["d_before"], batch.arrays["d"])


def test_the_fakes_move_to_the_updated_g_of_the_same_z():
    trainer = trained(RING)
    g_before = copy.deepcopy(trainer.generator)
    *_, g_update = explain_step(trainer)
    z = torch.from_numpy(g_update.arrays["z"])
    with torch.no_grad():
        np.testing.assert_allclose(g_update.arrays["fake"], g_before(z).numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(g_update.arrays["fake_after"], trainer.generate(z).numpy(), rtol=0, atol=1e-6)
    assert not np.allclose(g_update.arrays["fake_after"], g_update.arrays["fake"])   # they moved
    arrows = g_update.arrays["arrows"]
    assert arrows.shape == (ARROW_COUNT, 4)
    np.testing.assert_array_equal(arrows[:, :2], g_update.arrays["fake"][:ARROW_COUNT])


def test_image_fakes_are_the_updated_g_on_the_same_batch():
    # BatchNorm in training mode: G(z) depends on the whole batch, so recompute on all of z.
    trainer = trained(CONFIGS["digits-dcgan-gp"])
    buffers = {name: b.clone() for name, b in trainer.generator.named_buffers()}
    *_, g_update = explain_step(trainer)
    z = torch.from_numpy(g_update.arrays["z"])
    assert z.shape == (12, 4) and g_update.arrays["fake_after"].shape == (SHOWN_IMAGES, 1, 16, 16)
    generator = copy.deepcopy(trainer.generator).train()
    with torch.no_grad():
        expected = generator(z)[:SHOWN_IMAGES].numpy()
    np.testing.assert_allclose(g_update.arrays["fake_after"], expected, rtol=0, atol=1e-6)
    changed = [name for name, b in trainer.generator.named_buffers() if not torch.equal(b, buffers[name])]
    assert changed                          # the step's own passes moved the running statistics
    assert g_update.arrays["d_fake_after"].shape == (12,)


def test_point_phase_figures_differ_one_from_the_next():
    trainer = trained(RING)
    real = trainer.dataset.real_samples(2000)
    extent = extent_of(real)
    figures = [phase_figure(phase, real, extent) for phase in explain_step(trainer, extent)]
    payloads = [figure.to_json() for figure in figures]
    assert payloads[0] != payloads[1] != payloads[2]
    names = [[trace.name for trace in figure.data] for figure in figures]
    assert "fake batch" in names[0] and "real batch" in names[0] and "D(x)" in names[0]
    assert {"D = 0.5 before", "D = 0.5 after"} <= set(names[1])
    assert {"fakes before G's step", "fakes after G's step", "G's gradient"} <= set(names[2])
    heat = [np.asarray(figure.data[0].z) for figure in figures]
    assert not np.array_equal(heat[0], heat[1])                 # D's update changed its map
    np.testing.assert_array_equal(heat[1], heat[2])             # G's update did not
    for figure in figures:                                      # one view for the three phases
        assert list(figure.layout.xaxis.range) == pytest.approx([-extent, extent])


def test_image_phase_pictures_differ_one_from_the_next():
    trainer = trained(CONFIGS["digits-mlp"])
    phases = explain_step(trainer)
    pictures = [np.asarray(phase_image(phase)) for phase in phases]
    for previous, picture in zip(pictures, pictures[1:]):
        assert previous.shape != picture.shape or not np.array_equal(previous, picture)
    assert phases[0].arrays["real"].shape == (SHOWN_IMAGES, 1, 16, 16)
    assert phases[1].arrays["d_real"].shape == phases[1].arrays["d_real_before"].shape == (12,)
    assert not np.array_equal(phases[1].arrays["d_real"], phases[1].arrays["d_real_before"])


def test_captions_are_one_sentence_each_with_the_scores():
    for config in (RING, CONFIGS["digits-mlp"]):
        phases = explain_step(trained(config, steps=1))
        for phase in phases:
            assert phase.caption.endswith(".") and ". " not in phase.caption
            assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in phase.arrays.values())
        what = "points" if config.dataset == "ring" else "images"
        assert f"real {what}" in phases[0].caption
        mean = np.mean(phases[2].arrays["d_fake_after"])
        assert f"{mean:.3f}" in phases[2].caption


def test_a_diverged_trainer_takes_no_step():
    trainer = trained(RING, steps=1)
    trainer.diverged = True
    state = copy.deepcopy(trainer.generator.state_dict())
    assert explain_step(trainer) == []
    assert trainer.step_count == 1
    assert_same_tensors(trainer.generator.state_dict(), state)
