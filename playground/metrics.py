"""Quality metrics: mode coverage and JS divergence for 2D points; class coverage and Fréchet
distance for digit images.

Points follow the toy-benchmark literature (VEEGAN, PacGAN): a sample is *high quality* when it
lies within 3 standard deviations of its nearest mode, and a mode is *covered* when it is the
nearest mode of at least one high-quality sample. Images are judged by a small MLP trained on
scikit-learn's 8x8 digits (digit_classifier.py), calibrated to be no surer of a GAN's drawings
than the independent judge (bench/digit_judge.py, a logistic regression) is: the lessons
promise what that judge sees.

Every function returns plain Python numbers so results go straight into JSON and CSV.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

from .budget import EVAL_CHUNK
from .digit_classifier import CONFIDENT_PROB, NOT_A_DIGIT, digit_classifier, digit_inputs

HQ_STDS = 3.0                 # "high quality" radius, in mode standard deviations
JS_MARGIN = 0.1               # grid margin around the real data, as a fraction of its extent
JS_EPS = 1e-10                # probability added to every bin so empty bins stay finite

# Class coverage: the rule of the independent judge (bench/digit_judge.py, a logistic
# regression). A prediction is confident when its top probability is above 0.6
# (digit_classifier.CONFIDENT_PROB), and a class is covered when >= 1 % of all samples are
# confidently in it. Real digits give 10/10; noise, blank images or one repeated digit give at
# most 1-2 (tests/test_metrics.py pins this).
MIN_CLASS_SHARE = 0.01        # a class counts when >= 1 % of samples are confidently it
DIGIT_LIKE = ("digits", "mnist")
# MNIST draws each digit in a 20x20 box centred in 28x28; scikit-learn's digits fill the whole
# 8x8 frame. Cropping the 4-pixel border first makes MNIST look like what the classifier knows.
MNIST_BORDER = 4 / 28


# --- points ------------------------------------------------------------------------------
def point_quality(samples: np.ndarray, modes: np.ndarray, mode_std: float) -> dict:
    """Modes covered and the fraction of high-quality samples (within 3 mode_std of a mode)."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)   # (N, 2)
    modes = np.asarray(modes, dtype=np.float64).reshape(-1, 2)       # (M, 2)
    total = len(modes)
    if len(samples) == 0 or total == 0:
        return {"modes_covered": 0, "modes_total": total, "high_quality": 0.0}
    finite = np.isfinite(samples).all(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        # (N, M) squared distances: 2000 x 25 floats, about a millisecond.
        d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1)
    d2[~finite] = np.inf          # NaN / inf samples are never close to anything
    nearest = d2.argmin(axis=1)                                       # (N,)
    good = d2[np.arange(len(samples)), nearest] <= (HQ_STDS * mode_std) ** 2
    return {
        "modes_covered": int(np.unique(nearest[good]).size),
        "modes_total": int(total),
        "high_quality": float(good.mean()),
    }


def js_divergence(samples: np.ndarray, real: np.ndarray, bins: int = 50) -> float:
    """Jensen-Shannon divergence (nats, 0..ln 2) between 2D histograms on the real data's grid."""
    real = np.asarray(real, dtype=np.float64).reshape(-1, 2)
    real = real[np.isfinite(real).all(axis=1)]
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    if len(real) == 0:
        raise ValueError("js_divergence needs at least one finite real sample")
    lo, hi = real.min(axis=0), real.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)             # a degenerate axis still gets a width
    lo, hi = lo - JS_MARGIN * span, hi + JS_MARGIN * span
    p = _histogram(samples, lo, hi, bins)
    q = _histogram(real, lo, hi, bins)
    m = 0.5 * (p + q)
    js = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    return float(min(max(js, 0.0), math.log(2)))


def _histogram(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, bins: int) -> np.ndarray:
    """Smoothed probabilities of bins*bins grid cells plus one last cell for "off the grid".

    The extra cell keeps the mass of samples that fall outside the grid (or are NaN): dropping
    them would make a generator that wanders off look *better*.
    """
    inside = (x >= lo).all(axis=1) & (x <= hi).all(axis=1)            # NaN compares False
    cell = ((x[inside] - lo) / (hi - lo) * bins).astype(np.int64)      # (n, 2) cell coordinates
    cell = np.minimum(cell, bins - 1)                                  # x == hi: the last cell
    counts = np.bincount(cell[:, 0] * bins + cell[:, 1], minlength=bins * bins + 1)
    counts = counts.astype(np.float64)
    counts[-1] += len(x) - inside.sum()
    prob = counts / max(counts.sum(), 1.0) + JS_EPS
    return prob / prob.sum()


@torch.no_grad()
def _classify(model, images: np.ndarray, crop: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(class probabilities (N, 11), features (N, 64)), EVAL_CHUNK images at a time.

    digit_inputs makes float copies of its images (NaN fixing, clamp, grey): 2000 64x64 RGB
    fakes would be ~100 MB per copy in one pass, so only one chunk is ever copied.
    """
    probs, feats = [torch.empty(0, 11)], [torch.empty(0, 64)]
    for start in range(0, len(images), EVAL_CHUNK):
        logits, h = model(digit_inputs(images[start:start + EVAL_CHUNK], crop))
        probs.append(logits.softmax(dim=1))
        feats.append(h)
    return torch.cat(probs), torch.cat(feats)


def digit_quality(images: np.ndarray, real: np.ndarray | None = None, crop: float = 0.0) -> dict:
    """Digit classes produced confidently, how many samples are confident digits, how the
    predictions spread over the classes (entropy, largest share) and FD to `real`.

    `confident` is the fraction of all samples confidently read as some digit. Entropy and
    `top_class_share` count the samples whose best guess is a digit: junk is no kind of variety,
    and a run drawing 90 % junk and 10 % ones has top_class_share 1.0, not 0.1.
    """
    model = digit_classifier()
    prob, feats = _classify(model, images, crop)
    conf, pred = prob.max(dim=1)                               # (N,), (N,)
    n = len(pred)
    sure = (conf > CONFIDENT_PROB) & (pred != NOT_A_DIGIT)
    confident = torch.bincount(pred[sure], minlength=11)[:NOT_A_DIGIT]
    needed = max(1, math.ceil(MIN_CLASS_SHARE * n))
    counts = torch.bincount(pred, minlength=11)[:NOT_A_DIGIT].double()
    share = counts[counts > 0] / counts.sum()
    entropy = -(share * share.log()).sum()
    fd = None
    if real is not None:
        real_feats = _classify(model, real, crop)[1]
        fd = frechet_distance(feats.double().numpy(), real_feats.double().numpy())
    return {
        "classes_covered": int((confident >= needed).sum()),
        "confident": float(sure.sum()) / max(n, 1),
        "top_class_share": float(share.max()) if len(share) else 0.0,
        "class_entropy": float(entropy) + 0.0,     # + 0.0 turns -0.0 into 0.0
        "fd": fd,
    }


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float | None:
    """Fréchet distance between Gaussians fitted to features a (N, D) and b (M, D)."""
    if len(a) < 2 or len(b) < 2:
        return None               # a covariance needs two samples
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Dead ReLU units make the covariances singular (sqrtm warns, may return NaN); a ridge of
    # 1e-6 fixes that and moves the distance by ~1e-5 (the reference FID code's fix).
    ridge = np.eye(len(cov_a)) * 1e-6
    covmean = scipy.linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    fd = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean.real)
    return float(max(fd, 0.0))    # rounding can push a near-zero distance below zero


# --- dispatch ----------------------------------------------------------------------------
def evaluate(dataset, samples: np.ndarray, real: np.ndarray) -> dict:
    """The quality metrics that fit `dataset`, as JSON-ready numbers ({} when none apply)."""
    if dataset.kind == "points":
        out = {}
        if dataset.modes is not None and dataset.mode_std is not None:
            out.update(point_quality(samples, dataset.modes, dataset.mode_std))
        out["js"] = js_divergence(samples, real)
        return out
    if dataset.kind == "images" and dataset.key in DIGIT_LIKE:
        crop = MNIST_BORDER if dataset.key == "mnist" else 0.0
        return digit_quality(samples, real, crop=crop)
    return {}
