"""The digit classifier behind the image metrics: a small MLP on scikit-learn's 8x8 digits.

    model = digit_classifier()              # memory, else the disk cache, else trained (seconds)
    logits, features = model(digit_inputs(images))   # (N, 11) with "not a digit", (N, 64)

Offline and seeded: it trains on all 1797 scikit-learn digits plus junk images (noise, blobs,
flat and scrambled digits, the 11th class) from one local generator, then its softmax
temperature is fitted so that it is no surer of a GAN's drawings than the independent judge
(bench/digit_judge.py, a logistic regression) is. Cached on disk as safetensors (never pickle).
metrics.digit_quality turns its predictions into classes covered, confident fraction and balance.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

CONFIDENT_PROB = 0.6          # a prediction counts only when the classifier is surer than this
# An MLP is far surer of itself than a linear model on what a GAN draws (two digits blended,
# grey speckle): at 0.8 it called DCGAN runs 9-10/10 that the judge called 8-9/10. So its logits
# are divided by a temperature, fitted once after training so that only this fraction of real
# digits (as a 16x16 GAN sees them) is confident; the judge gives them 87 %.
CALIBRATION_CONFIDENT = 0.85
CLASSIFIER_FILE = "digits_mlp_v3.safetensors"   # bump the version when the model changes
CLASSIFIER_SEED = 0
NOT_A_DIGIT = 10              # index of the classifier's "junk" output

class DigitClassifier(nn.Module):
    """MLP 64 -> 128 -> 64 -> 11 on 8x8 digits in scikit-learn's 0..16 scale.

    Output 10 is "not a digit". A 10-way MLP is confidently wrong on inputs it never saw:
    smoothed noise blobs (what a GAN draws early on) scored 8/10 classes. Training an explicit
    junk class on noise, blobs, flat images and scrambled digits brings that to 0-1.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 11)
        # 1 while training; set by calibrate afterwards. A float, not a buffer: the network is
        # built on the meta device, where a buffer would come back uninitialised.
        self.temperature = 1.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 64) pixels 0..16 -> (logits / temperature (N, 11), penultimate features (N, 64))."""
        h = self.features(x / 16.0)
        return self.head(h) / self.temperature, h

    # The temperature travels in the state dict (and so in the safetensors file) as one tensor.
    def get_extra_state(self) -> torch.Tensor:
        return torch.tensor(float(self.temperature))

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.temperature = float(state)


_MODELS: dict[Path, DigitClassifier] = {}   # in-process cache, keyed by the file it came from


def cache_dir() -> Path:
    """Where downloaded/trained helpers live: $GAN_PLAYGROUND_CACHE or ~/.cache/gan_playground."""
    return Path(os.environ.get("GAN_PLAYGROUND_CACHE") or Path.home() / ".cache" / "gan_playground")


def digit_classifier() -> DigitClassifier:
    """The digits classifier: from memory, else from the disk cache, else trained now (seconds)."""
    path = cache_dir() / CLASSIFIER_FILE
    # No lock (the core starts and guards no threads): two sessions evaluating at the same
    # moment of first use both train the same seeded classifier, which is harmless.
    model = _MODELS.get(path)
    if model is None:
        model = load_classifier(path)
        if model is None:
            # One intra-op thread: these matrices are tiny, and with 2 threads competing
            # for 2 busy cores the same training took 35 s instead of 0.5 s (measured).
            # The setting is process-wide, so it is restored at once.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                model = calibrate(train_classifier())
            finally:
                torch.set_num_threads(threads)
            save_classifier(model, path)
        model.eval().requires_grad_(False)
        _MODELS[path] = model
    return model


def load_classifier(path: Path) -> DigitClassifier | None:
    if not path.is_file():
        return None
    model = DigitClassifier()
    try:
        model.load_state_dict(load_file(str(path)))
    except Exception:             # truncated or from another version: train a fresh one
        return None
    return model


def save_classifier(model: DigitClassifier, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
        os.replace(tmp, path)     # atomic: a reader never sees half a file
    except OSError:
        pass                      # read-only home (e.g. a Space): the in-process copy still works


def seeded_classifier(rng: torch.Generator) -> DigitClassifier:
    """A DigitClassifier with PyTorch's default Linear init drawn from `rng`, not the global RNG.

    Built on the meta device (no init runs there), then given storage and initialised here.
    """
    with torch.device("meta"):
        model = DigitClassifier()
    model.to_empty(device="cpu")
    for layer in model.modules():
        if isinstance(layer, nn.Linear):      # nn.Linear.reset_parameters, with a generator
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=rng)
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.bias, -bound, bound, generator=rng)
    return model


def train_classifier(epochs: int = 40, batch: int = 64) -> DigitClassifier:
    """Train on all 1797 scikit-learn digits plus fresh junk images; a few seconds on one core.

    Every draw comes from one local generator: sessions may build their networks (seeding the
    global RNG under their own lock) while this runs, and neither may disturb the other.
    """
    from sklearn.datasets import load_digits      # here: importing sklearn costs ~1 s
    data = load_digits()
    digits = torch.tensor(data.data, dtype=torch.float32)      # (1797, 64), 0..16
    labels = torch.tensor(data.target, dtype=torch.int64)      # (1797,)
    rng = torch.Generator().manual_seed(CLASSIFIER_SEED)
    model = seeded_classifier(rng)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    n_junk = len(digits) // 10                # as many junk images as a digit class has
    for _ in range(epochs):
        x = torch.cat([digits, junk_images(digits, n_junk, rng)])
        y = torch.cat([labels, torch.full((n_junk,), NOT_A_DIGIT)])
        for idx in torch.randperm(len(x), generator=rng).split(batch):
            # Pixel noise (std 1 on the 0..16 scale): generated digits are never crisp.
            xb = (x[idx] + torch.randn(len(idx), 64, generator=rng)).clamp(0, 16)
            loss = F.cross_entropy(model(xb)[0], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def calibrate(model: DigitClassifier) -> DigitClassifier:
    """Set the softmax temperature so that CALIBRATION_CONFIDENT of real digits are confident.

    The real digits are scikit-learn's, resized to 16x16 as the digits data set does: what a
    perfect 16x16 generator would draw. Dividing logits by a temperature never changes a
    prediction, only how sure it is, and the confident fraction falls as the temperature
    rises, so a bisection finds it. The temperature is never below 1 (never sharpened).
    """
    from sklearn.datasets import load_digits
    images = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    real = F.interpolate(images, size=16, mode="bilinear", align_corners=False, antialias=True)
    model.temperature = 1.0
    with torch.no_grad():
        logits = model(digit_inputs(real.numpy()))[0]                  # (1797, 11)

    def confident(temperature: float) -> float:
        conf, pred = (logits / temperature).softmax(dim=1).max(dim=1)
        return float(((conf > CONFIDENT_PROB) & (pred != NOT_A_DIGIT)).float().mean())

    low, high = 1.0, 64.0
    if confident(low) > CALIBRATION_CONFIDENT:
        for _ in range(40):                  # 63 / 2**40: far finer than anything measurable
            middle = (low + high) / 2
            low, high = (middle, high) if confident(middle) > CALIBRATION_CONFIDENT else (low, middle)
    model.temperature = low
    return model


def junk_images(digits: torch.Tensor, n: int, rng: torch.Generator) -> torch.Tensor:
    """(n, 64) images that are no digit: noise, smooth blobs, flat images, scrambled digits."""
    k = n // 4
    noise = torch.rand(k, 64, generator=rng) * 16 * torch.rand(k, 1, generator=rng)   # speckle
    blobs = F.avg_pool2d(torch.rand(k, 1, 10, 10, generator=rng), 3, stride=1)        # (k, 1, 8, 8)
    blobs = (blobs - blobs.amin((2, 3), keepdim=True)) / (blobs.amax((2, 3), keepdim=True)
                                                          - blobs.amin((2, 3), keepdim=True) + 1e-6)
    blobs = (blobs.reshape(k, 64) * 16 * torch.rand(k, 1, generator=rng)).clamp(0, 16)
    flat = torch.rand(k, 1, generator=rng).expand(k, 64) * 16
    # Scrambled digits keep the ink histogram of a real digit but none of its shape.
    picks = digits[torch.randint(len(digits), (n - 3 * k,), generator=rng)]
    scrambled = torch.gather(picks, 1, torch.rand(len(picks), 64, generator=rng).argsort(dim=1))
    return torch.cat([noise, blobs, flat, scrambled])


def digit_inputs(images: np.ndarray, crop: float = 0.0) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] -> (N, 64) classifier inputs on scikit-learn's 0..16 scale."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim == 3:
        x = x[:, None]            # (N, H, W) grayscale
    x = torch.nan_to_num(x, nan=-1.0, posinf=1.0, neginf=-1.0).clamp(-1, 1)
    x = x.mean(dim=1, keepdim=True)                            # (N, 1, H, W) grayscale
    if crop > 0:
        h, w = x.shape[-2:]
        dh, dw = round(h * crop), round(w * crop)
        x = x[..., dh:h - dh, dw:w - dw]
    # (N, 1, 8, 8): block means, as scikit-learn made its digits from 32x32 bitmaps.
    x = F.adaptive_avg_pool2d(x, 8)
    return ((x + 1.0) * 8.0).reshape(len(x), 64)               # -1 -> 0 (no ink), 1 -> 16
