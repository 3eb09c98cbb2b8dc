"""playground.trainer: every dataset x arch x loss trains (tiny sizes), seeds repeat, live edits
keep optimizer state, divergence is caught and recoverable, one-network steps touch one network.

Image data sets that need downloads are read from tiny files in torchvision's layout (the same
helpers as tests/test_data.py), so the whole matrix runs offline in a few seconds.
"""
import math
import pickle

import pytest
import torch

from playground import trainer as trainer_module
from playground.config import (DATASET_CHOICES, IMAGE_DATASETS, LOSS_CHOICES, ConfigError,
                               TrainConfig)
from playground.data import make_dataset
from playground.trainer import STAT_NAMES, StepStats, Trainer

try:                                   # pytest puts tests/ on sys.path (rootdir-less "prepend")
    from test_data import png_bytes, write_mnist
except ImportError:                    # pragma: no cover - run from another import mode
    from tests.test_data import png_bytes, write_mnist

TINY = dict(batch_size=8, width=8, depth=1, z_dim=4, image_size=16, device="cpu")


def write_cifar(root, count=4):
    """CIFAR-10's pickled batches, `count` images each (torchvision's md5 check must be off)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    pixels = torch.randint(0, 256, (count, 3 * 32 * 32), generator=torch.Generator().manual_seed(0))
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": pixels.to(torch.uint8).numpy(), "labels": [0] * count}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """Config keys per data set pointing at tiny offline files, and the data sets themselves."""
    root = tmp_path_factory.mktemp("data")
    write_mnist(root, "MNIST", count=8)
    write_mnist(root, "FashionMNIST", count=8)
    write_cifar(root)
    pictures = root / "pictures"
    pictures.mkdir()
    for i in range(3):
        (pictures / f"{i}.png").write_bytes(png_bytes(size=(20, 20), colour=(60 * i, 30, 200)))
    extra = {key: {} for key in DATASET_CHOICES}
    for key in ("mnist", "fashion_mnist", "cifar10"):
        extra[key] = {"data_root": str(root)}
    points = root / "points.csv"                     # the visitor's own 2D points
    points.write_text("x,y\n" + "\n".join(f"{i % 7},{i % 5}" for i in range(40)))
    extra["csv"] = {"data_path": str(points)}
    extra["folder"] = {"data_path": str(pictures)}
    datasets = {}
    with pytest.MonkeyPatch.context() as patch:
        import torchvision.datasets.cifar
        patch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
        for key in DATASET_CHOICES:
            datasets[key] = make_dataset(TrainConfig(dataset=key, **TINY, **extra[key]))
    return extra, datasets


def _matrix():
    for key in DATASET_CHOICES:
        for arch in ("mlp", "dcgan") if key in IMAGE_DATASETS else ("mlp",):
            for loss in LOSS_CHOICES:
                yield key, arch, loss


@pytest.mark.parametrize("key, arch, loss", list(_matrix()))
def test_smoke_matrix_two_finite_steps(data_files, key, arch, loss):
    extra, datasets = data_files
    config = TrainConfig(dataset=key, arch=arch, loss=loss, **TINY, **extra[key])
    trainer = Trainer(config, dataset=datasets[key])
    for expected_step in (1, 2):
        stats = trainer.step()
        assert isinstance(stats, StepStats) and stats.step == expected_step
        assert stats.finite, stats
        assert all(math.isfinite(getattr(stats, name)) for name in STAT_NAMES), stats
        assert 0 <= stats.d_real <= 1 and 0 <= stats.d_fake <= 1
    assert not trainer.diverged
    samples = trainer.sample(4)
    assert samples.shape == (4, *datasets[key].shape) and torch.isfinite(samples).all()
    if key in IMAGE_DATASETS:
        assert samples.min() >= -1 and samples.max() <= 1


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_every_regulariser_at_once_stays_finite(arch):
    config = TrainConfig(dataset="digits", arch=arch, loss="hinge", r1_gamma=10, instance_noise=0.1,
                         label_smoothing=0.1, spectral_norm=True, **TINY)
    trainer = Trainer(config)
    assert all(trainer.step().finite for _ in range(2))


# --- determinism ------------------------------------------------------------------------------

DETERMINISM_CONFIGS = [
    TrainConfig(dataset="ring", **TINY),
    # gradient penalty, instance noise and BatchNorm all draw or depend on random numbers
    TrainConfig(dataset="digits", arch="dcgan", loss="wgan_gp", instance_noise=0.1, **TINY),
]


@pytest.mark.parametrize("config", DETERMINISM_CONFIGS, ids=["ring-mlp", "digits-dcgan-gp"])
def test_same_seed_same_numbers(config):
    a, b = Trainer(config), Trainer(config)
    for _ in range(5):
        assert a.step() == b.step()
    assert torch.equal(a.sample(16), b.sample(16))
    assert torch.equal(a.fixed_z(16), Trainer(config).fixed_z(16))


@pytest.mark.parametrize("config", DETERMINISM_CONFIGS, ids=["ring-mlp", "digits-dcgan-gp"])
def test_different_seed_different_numbers(config):
    a, b = Trainer(config), Trainer(config.replace(seed=1))
    stats_a = [a.step() for _ in range(3)]
    stats_b = [b.step() for _ in range(3)]
    assert stats_a != stats_b
    assert not torch.equal(a.sample(16), b.sample(16))


def test_global_rng_use_does_not_change_a_run():
    config = DETERMINISM_CONFIGS[0]
    a = Trainer(config)
    first = [a.step() for _ in range(3)]
    torch.manual_seed(1234)
    torch.randn(100)                          # another session playing with the global RNG
    b = Trainer(config)
    torch.randn(100)
    assert [b.step() for _ in range(3)] == first


# --- live edits -------------------------------------------------------------------------------

def _ring(**changes):
    return Trainer(TrainConfig(dataset="ring", **{**TINY, **changes}))


def test_apply_reaches_the_optimizers_and_keeps_adam_state():
    trainer = _ring()
    for _ in range(3):
        trainer.step()
    param = next(trainer.discriminator.parameters())
    state = trainer.opt_d.state[param]
    exp_avg, exp_avg_sq, count = state["exp_avg"].clone(), state["exp_avg_sq"].clone(), int(state["step"])
    config = trainer.apply(lr_d=3e-4, lr_g=2e-4, beta1=0.0, d_steps=2)
    assert config is trainer.config and config.lr_d == 3e-4 and config.d_steps == 2
    assert [g["lr"] for g in trainer.opt_d.param_groups] == [3e-4]
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [2e-4]
    assert trainer.opt_d.param_groups[0]["betas"] == (0.0, 0.999)
    after = trainer.opt_d.state[param]
    assert torch.equal(after["exp_avg"], exp_avg) and torch.equal(after["exp_avg_sq"], exp_avg_sq)
    assert int(after["step"]) == count
    trainer.step()                               # d_steps=2 now read from the config
    assert int(trainer.opt_d.state[param]["step"]) == count + 2


def test_apply_works_with_sgd_and_rmsprop():
    trainer = _ring(optimizer_d="sgd", optimizer_g="rmsprop")
    trainer.step()
    trainer.apply(lr_d=0.05, lr_g=0.01, beta1=0.9)
    assert trainer.opt_d.param_groups[0]["lr"] == 0.05 and trainer.opt_g.param_groups[0]["lr"] == 0.01
    assert trainer.step().finite


@pytest.mark.parametrize("changes, key", [
    ({"arch": "dcgan"}, "arch"),                 # needs new networks: not live
    ({"z_dim": 16}, "z_dim"),
    ({"lr_d": -1}, "lr_d"),                      # live key, bad value
    ({"lr_g": 0}, "lr_g"),
    ({"d_steps": 0}, "d_steps"),
    ({"nonsense": 1}, "nonsense"),
])
def test_apply_refuses_without_changing_anything(changes, key):
    trainer = _ring()
    trainer.step()
    before = trainer.config
    with pytest.raises(ConfigError) as err:
        trainer.apply(lr_d=5e-4, **changes) if key != "lr_d" else trainer.apply(**changes)
    assert err.value.key == key
    assert trainer.config is before
    assert trainer.opt_d.param_groups[0]["lr"] == before.lr_d


# --- divergence -------------------------------------------------------------------------------

def _poison(module):
    with torch.no_grad():
        next(module.parameters()).fill_(math.inf)


def test_divergence_is_caught_and_recoverable():
    trainer = _ring()
    for _ in range(3):
        assert trainer.step().finite
    _poison(trainer.discriminator)
    stats = trainer.step()
    assert stats.finite is False and trainer.diverged
    assert stats.step == 4
    # A diverged trainer stands still: the same stats, no exception, no step counted.
    assert trainer.step() is stats and trainer.step(d_steps=1, g_steps=0) is stats
    assert trainer.step_count == 4
    trainer.apply(lr_d=2e-4)
    trainer.restore_last_good()
    assert not trainer.diverged
    for module in (trainer.generator, trainer.discriminator):
        assert all(torch.isfinite(p).all() for p in module.parameters())
    assert trainer.opt_d.param_groups[0]["lr"] == 2e-4       # the live edit survives the restore
    for _ in range(5):
        assert trainer.step().finite
    assert torch.isfinite(trainer.sample(32)).all()


def test_divergence_from_huge_learning_rates():
    trainer = _ring(optimizer_d="sgd", optimizer_g="sgd", loss="wgan", clip=0.0, width=16, depth=2)
    trainer.apply(lr_d=1.0, lr_g=1.0)
    stats = [trainer.step() for _ in range(200)]
    assert not stats[-1].finite and trainer.diverged
    assert stats[-1] is stats[-2]                             # stood still once diverged
    trainer.apply(lr_d=1e-4, lr_g=1e-4)
    trainer.restore_last_good()
    assert all(trainer.step().finite for _ in range(3))


def test_restore_goes_back_to_the_last_good_copy(monkeypatch):
    monkeypatch.setattr(trainer_module, "GOOD_STATE_EVERY", 3)
    trainer = _ring()
    for _ in range(3):
        trainer.step()
    good = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer.step()                                            # step 4: not copied
    _poison(trainer.generator)
    assert not trainer.step().finite
    trainer.restore_last_good()
    assert all(torch.equal(p, q) for p, q in zip(trainer.generator.parameters(), good))


# --- one-network steps and the D:G ratio --------------------------------------------------------

def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(module, saved):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), saved))


def test_d_only_step_leaves_g_alone():
    trainer = _ring()
    g_before, d_before = _params(trainer.generator), _params(trainer.discriminator)
    stats = trainer.step(d_steps=1, g_steps=0)
    assert _same(trainer.generator, g_before) and not _same(trainer.discriminator, d_before)
    assert stats.finite and math.isfinite(stats.d_loss)
    assert math.isnan(stats.g_loss)                          # no G update has happened yet
    assert not trainer.opt_g.state


def test_g_only_step_leaves_d_alone():
    trainer = _ring()
    trainer.step()
    g_before, d_before = _params(trainer.generator), _params(trainer.discriminator)
    previous = trainer.last_stats
    stats = trainer.step(d_steps=0, g_steps=1)
    assert _same(trainer.discriminator, d_before) and not _same(trainer.generator, g_before)
    assert stats.d_loss == previous.d_loss                   # D's numbers carried over
    assert stats.g_loss != previous.g_loss


@pytest.mark.parametrize("d_steps, g_steps", [(3, 1), (1, 2), (5, 3)])
def test_step_counts_follow_the_ratio(d_steps, g_steps):
    trainer = _ring(d_steps=d_steps, g_steps=g_steps)
    trainer.step()
    for optimizer, expected in ((trainer.opt_d, d_steps), (trainer.opt_g, g_steps)):
        counts = {int(state["step"]) for state in optimizer.state.values()}
        assert counts == {expected}
    trainer.step(d_steps=1, g_steps=0)
    assert {int(s["step"]) for s in trainer.opt_d.state.values()} == {d_steps + 1}
    assert {int(s["step"]) for s in trainer.opt_g.state.values()} == {g_steps}


def test_wgan_clips_critic_weights():
    trainer = _ring(loss="wgan", clip=0.01)
    trainer.step()
    assert all(p.abs().max() <= 0.01 for p in trainer.discriminator.parameters())


def test_sample_uses_a_fixed_latent_batch_and_eval_mode():
    trainer = Trainer(TrainConfig(dataset="digits", arch="dcgan", **TINY))
    trainer.step()
    assert torch.equal(trainer.fixed_z(8), trainer.fixed_z(100)[:8])
    first = trainer.sample(8)
    assert torch.equal(first, trainer.sample(64)[:8])        # eval mode: no batch dependence
    assert trainer.generator.training                        # and training mode is restored


# --- optimizers -------------------------------------------------------------------------------

def test_optimizer_registry_matches_the_config_choices():
    from playground.config import OPTIMIZER_CHOICES
    assert tuple(trainer_module.OPTIMIZERS) == OPTIMIZER_CHOICES


def test_unknown_optimizer_kind_is_refused_not_replaced_by_sgd():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError, match="adamw") as err:
        trainer_module.make_optimizer("adamw", params, 1e-3, 0.5, 0.999)
    assert err.value.key == "optimizer"


# --- memory budget --------------------------------------------------------------------------

def test_live_batch_size_edit_is_checked_like_a_fresh_build():
    config = TrainConfig(dataset="digits", arch="dcgan", image_size=64, width=64, z_dim=8,
                         batch_size=64, device="cpu")
    trainer = Trainer(config)
    with pytest.raises(ConfigError) as fresh:
        Trainer(config.replace(batch_size=1024))
    with pytest.raises(ConfigError) as live:
        trainer.apply(batch_size=1024)
    assert str(live.value) == str(fresh.value) and live.value.key == fresh.value.key == "batch_size"
    assert str(live.value).startswith("Batch size 1024 needs about ")
    assert trainer.config is config and trainer.opt_d.param_groups[0]["lr"] == config.lr_d
    assert trainer.apply(batch_size=128).batch_size == 128          # within the budget: applied


def test_generate_runs_in_chunks_that_match_one_pass():
    trainer = Trainer(TrainConfig(dataset="digits", arch="dcgan", **TINY))
    trainer.step()
    rows = []
    hook = trainer.generator.register_forward_pre_hook(lambda _m, args: rows.append(len(args[0])))
    z = trainer.fixed_z(600)
    chunked = trainer.generate(z)
    hook.remove()
    assert max(rows) <= 256 and sum(rows) == 600
    trainer.generator.eval()
    with torch.no_grad():
        whole = trainer.generator(z)                              # one pass, as before
    trainer.generator.train()
    assert chunked.shape == whole.shape == (600, 1, 16, 16)
    assert torch.allclose(chunked, whole, rtol=0, atol=1e-6)
    assert trainer.generate(z[:0]).shape == (0, 1, 16, 16)


def test_check_live_and_apply_use_one_budget_rule(monkeypatch):
    # The session checks an edit with check_live before the worker applies it: a rule that
    # differed would let apply raise inside the worker. Both check exactly the size keys.
    trainer = _ring()
    calls = []
    monkeypatch.setattr(trainer_module, "check_budget", lambda config, shape: calls.append(config))
    for changes, checked in [({"lr_d": 5e-4}, False), ({"d_steps": 3}, False),
                             ({"batch_size": 16}, True), ({"r1_gamma": 1.0}, True),
                             ({"gp_lambda": 1.0}, True)]:
        calls.clear()
        trainer.check_live(changes)
        assert bool(calls) == checked, changes
        calls.clear()
        trainer.apply(**changes)
        assert bool(calls) == checked, changes
