"""playground.metrics on constructed samples: perfect, collapsed, far away, broken; real digits
against noise. The digit classifier is trained once per module into a temporary cache."""
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from playground import digit_classifier as classifier_module
from playground import metrics
from playground.metrics import digit_quality, evaluate, js_divergence, point_quality

STD = 0.05
RING = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)


def mixture(modes, n=2000, std=STD, seed=0):
    """n points drawn evenly from Gaussians at `modes` (M, 2)."""
    rng = np.random.default_rng(seed)
    return modes[rng.integers(len(modes), size=n)] + rng.normal(0, std, (n, 2))


# --- point_quality --------------------------------------------------------------------------
def test_perfect_ring_covers_all_modes():
    q = point_quality(mixture(RING), RING, STD)
    assert q["modes_covered"] == 8 and q["modes_total"] == 8
    assert q["high_quality"] > 0.95


def test_all_samples_at_one_mode_cover_one():
    q = point_quality(mixture(RING[:1]), RING, STD)
    assert q["modes_covered"] == 1 and q["high_quality"] > 0.95


def test_samples_far_away_cover_nothing():
    q = point_quality(mixture(RING) + 10.0, RING, STD)
    assert q == {"modes_covered": 0, "modes_total": 8, "high_quality": 0.0}


def test_between_modes_is_low_quality():
    # Midway between neighbouring modes of the ring: ~0.77 from each, far beyond 3 * 0.05.
    mid = (RING + np.roll(RING, 1, axis=0)) / 2
    assert point_quality(mixture(mid, std=0.01), RING, STD)["high_quality"] == 0.0


def test_non_finite_samples_count_as_low_quality():
    s = mixture(RING)
    s[::2, 0] = np.nan
    s[1::4, 1] = np.inf
    q = point_quality(s, RING, STD)
    assert q["modes_covered"] == 8
    assert q["high_quality"] == pytest.approx(0.25, abs=0.02)
    assert point_quality(np.full((10, 2), np.nan), RING, STD)["high_quality"] == 0.0


def test_point_quality_returns_plain_numbers():
    q = point_quality(mixture(RING).astype(np.float32), RING, STD)
    assert type(q["modes_covered"]) is int and type(q["modes_total"]) is int
    assert type(q["high_quality"]) is float
    json.dumps(q)
    assert point_quality(np.zeros((0, 2)), RING, STD)["high_quality"] == 0.0


# --- js_divergence --------------------------------------------------------------------------
def test_js_small_for_same_distribution_large_for_disjoint():
    real = mixture(RING, seed=1)
    same = js_divergence(mixture(RING, seed=2), real)
    collapsed = js_divergence(mixture(RING[:1], seed=2), real)
    disjoint = js_divergence(mixture(RING, seed=2) + 1.0, real)
    assert 0 <= same < 0.1
    assert collapsed > 0.4                      # 1 of 8 modes: ln 2 - (1/8) ln ... ~ 0.5
    assert disjoint > 0.6 and disjoint <= math.log(2) + 1e-12
    assert js_divergence(real, real) == pytest.approx(0.0, abs=1e-6)


def test_js_counts_samples_off_the_grid_and_nan():
    real = mixture(RING, seed=1)
    # Far outside the grid: must not look like a match just because the grid misses them.
    assert js_divergence(mixture(RING) * 100, real) > 0.6
    broken = np.full((2000, 2), np.nan)
    assert js_divergence(broken, real) == pytest.approx(math.log(2), abs=1e-3)
    assert type(js_divergence(real, real)) is float


# --- digit_quality --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train the classifier once into a temporary cache; the env stays set for the module.

    Also records whether training moved the global torch RNG (it runs inside seeded runs).
    """
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_PLAYGROUND_CACHE", str(cache))
        torch.manual_seed(7)
        expected = torch.rand(3)
        torch.manual_seed(7)
        state = torch.random.get_rng_state()
        model = classifier_module.digit_classifier()
        untouched = torch.equal(torch.random.get_rng_state(), state)
        yield SimpleNamespace(model=model, rng_untouched=untouched and torch.equal(torch.rand(3), expected))


@pytest.fixture
def classifier(trained):
    return trained.model


@pytest.fixture(scope="module")
def digits16():
    """scikit-learn digits as (1797, 1, 16, 16) images in [-1, 1], like a 16x16 GAN's output."""
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 8.0 - 1.0     # 0..16 -> [-1, 1]
    return F.interpolate(x, size=16, mode="bilinear", align_corners=False).numpy()


def test_classifier_is_cached_on_disk_and_in_memory(classifier):
    path = classifier_module.cache_dir() / classifier_module.CLASSIFIER_FILE
    assert path.is_file()
    assert classifier_module.digit_classifier() is classifier          # no retraining within a process
    reloaded = classifier_module.load_classifier(path)
    for a, b in zip(reloaded.state_dict().values(), classifier.state_dict().values()):
        assert torch.equal(a, b)


def test_classifier_training_leaves_global_rng_alone(trained):
    assert trained.rng_untouched


def test_classifier_training_neither_reseeds_nor_reads_the_global_rng(monkeypatch):
    # Another thread drawing from torch's global RNG while the classifier trains (a session
    # building its networks) must not see the RNG reseeded, nor change the classifier.
    seen = []
    junk = classifier_module.junk_images

    def busy_neighbour(*args, **kwargs):
        seen.append(torch.random.get_rng_state())
        torch.rand(100)                      # the neighbour's draw, between two epochs
        return junk(*args, **kwargs)

    quiet = classifier_module.train_classifier(epochs=2)
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    monkeypatch.setattr(classifier_module, "junk_images", busy_neighbour)
    busy = classifier_module.train_classifier(epochs=2)
    assert torch.equal(seen[0], before)
    for a, b in zip(quiet.state_dict().values(), busy.state_dict().values()):
        assert torch.equal(a, b)


def test_digit_quality_runs_the_classifier_in_chunks(classifier, digits16, monkeypatch):
    rows = []
    monkeypatch.setattr(metrics, "digit_classifier", lambda: lambda x: (rows.append(len(x)), classifier(x))[1])
    images = np.concatenate([digits16, digits16[:203]])               # 2000 images
    chunked = digit_quality(images, digits16)
    assert max(rows) <= 256 and sum(rows) == len(images) + len(digits16)
    monkeypatch.setattr(metrics, "EVAL_CHUNK", 10**6)                 # one pass, as before
    whole = digit_quality(images, digits16)
    assert chunked["classes_covered"] == whole["classes_covered"]
    assert chunked["class_entropy"] == pytest.approx(whole["class_entropy"], abs=1e-6)
    assert chunked["fd"] == pytest.approx(whole["fd"], rel=1e-6, abs=1e-6)


def test_real_digits_cover_all_classes(classifier, digits16):
    q = digit_quality(digits16)
    assert q["classes_covered"] == 10
    assert q["class_entropy"] > 0.95 * math.log(10)
    assert q["fd"] is None


@pytest.mark.parametrize("name", ["uniform noise", "gaussian noise", "blank", "white", "blobs"])
def test_non_digits_cover_almost_nothing(classifier, name):
    g = torch.Generator().manual_seed(0)
    images = {
        "uniform noise": lambda: torch.rand(2000, 1, 16, 16, generator=g) * 2 - 1,
        "gaussian noise": lambda: (torch.randn(2000, 1, 16, 16, generator=g) * 0.5).clamp(-1, 1),
        "blank": lambda: -torch.ones(2000, 1, 16, 16),
        "white": lambda: torch.ones(2000, 1, 16, 16),
        # Smooth random blobs: what a GAN draws in its first hundred steps.
        "blobs": lambda: (F.avg_pool2d(torch.rand(2000, 1, 20, 20, generator=g) * 2 - 1, 5, 1)
                          * 4).clamp(-1, 1),
    }[name]().numpy()
    assert digit_quality(images)["classes_covered"] <= 2


def test_one_repeated_digit_covers_one_class(classifier, digits16):
    q = digit_quality(np.repeat(digits16[:1], 2000, axis=0))
    assert q["classes_covered"] <= 1 and q["class_entropy"] == 0.0


def test_colour_nan_and_other_sizes(classifier, digits16):
    rgb = np.repeat(digits16, 3, axis=1)                     # (N, 3, 16, 16) grey in colour
    assert digit_quality(rgb)["classes_covered"] == 10
    x = torch.tensor(digits16)
    assert digit_quality(F.interpolate(x, size=32).numpy())["classes_covered"] == 10
    broken = digits16.copy()
    broken[:10] = np.nan
    assert digit_quality(broken)["classes_covered"] == 10
    # MNIST layout: the digit in a 20x20 box centred in 28x28; cropping the border restores it.
    mnist_like = F.pad(F.interpolate(x, size=20, mode="bilinear"), (4, 4, 4, 4), value=-1.0)
    assert digit_quality(mnist_like.numpy(), crop=metrics.MNIST_BORDER)["classes_covered"] == 10


# confident fraction and class balance: at least as strict as bench/digit_judge.py's rule
def test_real_digits_are_confident_and_balanced(classifier, digits16):
    q = digit_quality(digits16)
    assert q["classes_covered"] == 10
    assert q["confident"] > 0.8
    assert q["top_class_share"] < 0.12         # the largest class is 183 of the 1797 digits


def test_one_repeated_digit_has_all_the_share(classifier, digits16):
    q = digit_quality(np.repeat(digits16[:1], 2000, axis=0))
    assert q["classes_covered"] == 1
    assert q["top_class_share"] == pytest.approx(1.0)
    assert q["confident"] == pytest.approx(1.0)   # a real digit, only always the same one


@pytest.mark.parametrize("name", ["uniform noise", "gaussian noise"])
def test_noise_is_not_confident(classifier, name):
    g = torch.Generator().manual_seed(1)
    images = (torch.rand(2000, 1, 16, 16, generator=g) * 2 - 1 if name == "uniform noise"
              else (torch.randn(2000, 1, 16, 16, generator=g) * 0.5).clamp(-1, 1))
    assert digit_quality(images.numpy())["confident"] < 0.05


def test_top_class_share_leaves_junk_out(classifier, digits16):
    # Half noise, half one repeated digit: of the samples read as digits, one class is all.
    noise = np.random.default_rng(0).uniform(-1, 1, (1000, 1, 16, 16)).astype(np.float32)
    q = digit_quality(np.concatenate([noise, np.repeat(digits16[:1], 1000, axis=0)]))
    assert q["top_class_share"] > 0.95
    assert q["confident"] == pytest.approx(0.5, abs=0.05)


def test_blended_digits_are_rarely_confident(classifier, digits16):
    # Two different digits averaged: what a GAN draws between two modes. The judge's logistic
    # regression calls about a quarter of these confident; the uncalibrated MLP called most.
    labels = load_digits().target
    other = np.random.default_rng(0).permutation(len(labels))
    differ = labels != labels[other]
    blends = (digits16[differ] + digits16[other[differ]]) / 2
    assert digit_quality(blends)["confident"] < 0.2


def test_temperature_is_fitted_and_saved(classifier, digits16):
    assert classifier.temperature > 1.5          # the MLP alone is overconfident
    # digits16 are the calibration images (upsampling is the same with or without antialias)
    assert digit_quality(digits16)["confident"] == pytest.approx(classifier_module.CALIBRATION_CONFIDENT, abs=0.01)
    reloaded = classifier_module.load_classifier(classifier_module.cache_dir() / classifier_module.CLASSIFIER_FILE)
    assert reloaded.temperature == pytest.approx(classifier.temperature, rel=1e-6)


def test_frechet_distance_separates_real_from_noise(classifier, digits16):
    noise = np.random.default_rng(0).uniform(-1, 1, digits16.shape).astype(np.float32)
    fd_real = digit_quality(digits16[::2], digits16[1::2])["fd"]
    fd_noise = digit_quality(noise, digits16)["fd"]
    assert type(fd_real) is float and fd_real >= 0
    assert fd_real * 20 < fd_noise
    assert digit_quality(digits16, digits16)["fd"] == pytest.approx(0.0, abs=1e-3)


# --- evaluate -------------------------------------------------------------------------------
def test_evaluate_points_with_and_without_modes():
    ring = SimpleNamespace(key="ring", kind="points", modes=RING, mode_std=STD)
    out = evaluate(ring, mixture(RING), mixture(RING, seed=1))
    assert set(out) == {"modes_covered", "modes_total", "high_quality", "js"}
    assert out["modes_covered"] == 8 and out["js"] < 0.1
    spiral = SimpleNamespace(key="spiral", kind="points", modes=None, mode_std=None)
    assert set(evaluate(spiral, mixture(RING), mixture(RING, seed=1))) == {"js"}
    json.dumps(out)


def test_evaluate_images(classifier, digits16):
    digits = SimpleNamespace(key="digits", kind="images", modes=None, mode_std=None)
    out = evaluate(digits, digits16[::2], digits16[1::2])
    assert set(out) == {"classes_covered", "confident", "top_class_share", "class_entropy", "fd"}
    assert out["classes_covered"] == 10
    json.dumps(out)
    cifar = SimpleNamespace(key="cifar10", kind="images", modes=None, mode_std=None)
    assert evaluate(cifar, digits16, digits16) == {}


def test_evaluate_on_the_real_ring_dataset():
    from playground.config import TrainConfig
    from playground.data import make_dataset
    ring = make_dataset(TrainConfig(dataset="ring"))
    real = ring.real_samples(2000)
    out = evaluate(ring, ring.real_samples(2000, seed=1), real)
    assert out["modes_covered"] == out["modes_total"] == 8
    assert out["high_quality"] > 0.95
