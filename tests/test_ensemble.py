"""playground.ensemble: member k of an Ensemble is Trainer(configs[k]) computed side by side.

Same initial weights, same data and noise streams, per-member rates and penalties; parameters
agree within 1e-5 relative after 1 and 5 steps, stats and samples too; a member that diverges
stops while the others go on; the DCGAN falls back to K Trainers behind the same API.
"""
import math

import pytest
import torch

from playground.config import TrainConfig
from playground.ensemble import (MEMBER_D_LOSS, MEMBER_G_LOSS, SCORE_NAMES, Ensemble,
                                 LoopedEnsemble, group_by_shape)
from playground.losses import LOSSES
from playground.trainer import STAT_NAMES, Trainer

TINY = dict(width=16, depth=2, batch_size=32, z_dim=2, d_steps=2, device="cpu")
# Different seeds, rates, betas and regularisers per member: all are per-member keys.
MEMBERS = [dict(seed=1), dict(seed=2, lr_d=3e-3, lr_g=1e-4),
           dict(seed=3, lr_d=2e-4, lr_g=5e-3, beta1=0.0, label_smoothing=0.1)]
VARIANTS = {
    "nonsaturating": {},
    "spectral_norm": dict(spectral_norm=True),
    "wgan_gp": dict(loss="wgan_gp"),
    "wgan_clip": dict(loss="wgan", clip=0.05),
    "hinge_r1_noise": dict(loss="hinge", r1_gamma=1.0, instance_noise=0.1),
    "lsgan_rmsprop": dict(loss="lsgan", optimizer_d="rmsprop", optimizer_g="sgd"),
    "digits_mlp_g2": dict(dataset="digits", image_size=8, d_steps=1, g_steps=2),
}


def assert_same_params(ensemble, k, trainer, rtol=1e-5):
    for got, module in ((ensemble.generator_state(k), trainer.generator),
                        (ensemble.discriminator_state(k), trainer.discriminator)):
        ref = module.state_dict()
        assert got.keys() == ref.keys()
        for name in ref:
            torch.testing.assert_close(got[name], ref[name], rtol=rtol, atol=1e-7, msg=f"member {k} {name}")


def assert_same_stats(mine, theirs):
    assert mine.step == theirs.step and mine.finite == theirs.finite
    for name in STAT_NAMES + SCORE_NAMES:
        assert getattr(mine, name) == pytest.approx(getattr(theirs, name), rel=1e-4, abs=1e-6), name


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_member_matches_a_lone_trainer(variant):
    configs = [TrainConfig(**TINY).replace(**VARIANTS[variant], **m) for m in MEMBERS]
    ensemble = Ensemble(configs)
    trainers = [Trainer(c) for c in configs]
    assert ensemble.vectorised
    for step in range(1, 6):
        stats = ensemble.step()
        for k, trainer in enumerate(trainers):
            assert_same_stats(stats[k], trainer.step())
        if step in (1, 5):
            for k, trainer in enumerate(trainers):
                assert_same_params(ensemble, k, trainer)
    for k, trainer in enumerate(trainers):
        torch.testing.assert_close(ensemble.sample(k, 100), trainer.sample(100), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ensemble.samples(100)[k], trainer.sample(100), rtol=1e-5, atol=1e-6)


def test_initial_weights_are_those_of_trainer():
    configs = [TrainConfig(**TINY, seed=s, spectral_norm=True) for s in (0, 7)]
    ensemble = Ensemble(configs)
    for k, config in enumerate(configs):
        trainer = Trainer(config)
        for got, module in ((ensemble.generator_state(k), trainer.generator),
                            (ensemble.discriminator_state(k), trainer.discriminator)):
            for name, tensor in module.state_dict().items():
                assert torch.equal(got[name], tensor), name


def test_a_diverging_member_stops_and_the_others_go_on():
    configs = [TrainConfig(**TINY).replace(**m) for m in MEMBERS]
    ensemble = Ensemble(configs)
    trainers = [Trainer(c) for c in configs]
    ensemble.step()
    for trainer in trainers:
        trainer.step()
    with torch.no_grad():                    # member 1's D blows up, as with a huge lr_d
        ensemble.d.params["net.0.bias"][1].fill_(math.nan)
    stats = ensemble.step()
    for k in (0, 2):
        assert_same_stats(stats[k], trainers[k].step())
    assert ensemble.diverged == [False, True, False]
    assert not stats[1].finite
    frozen_g, frozen_d = ensemble.generator_state(1), ensemble.discriminator_state(1)
    for _ in range(3):
        stats = ensemble.step()
        for k in (0, 2):
            assert_same_stats(stats[k], trainers[k].step())
        assert stats[1].step == 2 and not stats[1].finite       # the last stats, as Trainer
    for got, frozen in ((ensemble.generator_state(1), frozen_g), (ensemble.discriminator_state(1), frozen_d)):
        for name in frozen:
            assert torch.equal(got[name], frozen[name]) or torch.equal(got[name].isnan(), frozen[name].isnan())
    for k in (0, 2):
        assert_same_params(ensemble, k, trainers[k])
    assert ensemble.step_count == 5


def test_member_trainer_carries_on_exactly():
    configs = [TrainConfig(**TINY).replace(**m) for m in MEMBERS]
    ensemble = Ensemble(configs)
    for _ in range(3):
        ensemble.step()
    handed = ensemble.member_trainer(2)
    lone = Trainer(configs[2])
    for _ in range(3):
        lone.step()
    for _ in range(2):
        assert_same_stats(handed.step(), lone.step())
    for mine, theirs in zip(handed.generator.parameters(), lone.generator.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_member_losses_match_losses_py(loss):
    rng = torch.Generator().manual_seed(0)
    real, fake = torch.randn(3, 16, generator=rng), torch.randn(3, 16, generator=rng)
    targets = [1.0, 0.9, 0.75]
    d = MEMBER_D_LOSS[loss](real, fake, torch.tensor(targets).view(3, 1))
    g = MEMBER_G_LOSS[loss](fake)
    for k, target in enumerate(targets):
        torch.testing.assert_close(d[k], LOSSES[loss].d_loss(real[k], fake[k], target))
        torch.testing.assert_close(g[k], LOSSES[loss].g_loss(fake[k]))


def test_group_by_shape_and_refusal():
    base = TrainConfig(**TINY)
    configs = [base, base.replace(lr_d=1e-2, seed=4), base.replace(width=8), base.replace(d_steps=3),
               base.replace(label_smoothing=0.2)]
    assert group_by_shape(configs) == [[0, 1, 4], [2], [3]]
    with pytest.raises(ValueError, match="shape key"):
        Ensemble(configs)


def test_dcgan_falls_back_to_trainers():
    configs = [TrainConfig(dataset="digits", arch="dcgan", image_size=16, batch_size=4, width=4,
                           z_dim=4, device="cpu", seed=s, lr_d=lr) for s, lr in ((0, 1e-3), (1, 5e-3))]
    ensemble = Ensemble(configs)
    assert isinstance(ensemble, LoopedEnsemble) and not ensemble.vectorised
    stats = ensemble.step()
    for k, config in enumerate(configs):
        trainer = Trainer(config)
        assert stats[k] == trainer.step()
        assert torch.equal(ensemble.sample(k, 4), trainer.sample(4))
    assert ensemble.samples(4).shape == (2, 4, 1, 16, 16)
