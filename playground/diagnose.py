"""Instability detector: recent training history in, plain-language findings out.

Each rule looks at the most recent window of the history (the last half, at most WINDOW_MAX
rows), so a finding disappears once a live edit has fixed the problem. Statistical rules stay
silent until MIN_ROWS rows exist: a GAN's first steps look alarming and mean nothing.

Columns of `history` (equal length, oldest first): step, d_loss, g_loss, d_real, d_fake
(mean D(x) and D(G(z)) as probabilities; for critics, the sigmoid of the score), grad_norm_d,
grad_norm_g (L2 norm over all parameter gradients of the last update of that network).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

MIN_ROWS = 20                 # no statistics-based finding before this many rows
WINDOW_MAX = 200              # the "recent" window: last half of the rows, at most this many
EXPLODED = 1e4                # |loss| above this is a blow-up, not a large-but-sane value

# Losses whose D outputs a real probability; for wgan / wgan_gp / hinge, d_real and d_fake are
# sigmoids of unbounded critic scores, so "D(G(z)) < 0.1" says nothing about who is winning.
PROBABILITY_LOSSES = ("minimax", "nonsaturating", "lsgan")
D_FAKE_LOW = 0.1              # mean D(G(z)) below this: D rejects nearly every fake
D_REAL_HIGH = 0.8             # mean D(x) above this: ... while accepting the real data
GRAD_RATIO = 1e-3             # median |grad G| below this fraction of median |grad D|

COLLAPSE_FRACTION = 0.5       # fewer than half of the modes covered ...
COLLAPSE_CLASSES = 3          # ... or at most this many digit classes
COLLAPSE_EVALS = 2            # ... in each of the last this-many evaluations

SWING = 0.3                   # oscillation: d_fake's 10th-90th percentile spread above this ...
SWING_CROSSINGS = 4           # ... and it crosses its median at least this many times


@dataclass(frozen=True)
class Finding:
    """One diagnosis, worded for a student."""

    code: str      # d_overpowering | vanishing_gradients | mode_collapse | oscillation | divergence
    severity: str  # "info" | "warning" | "error"
    title: str     # short headline, e.g. "The discriminator is winning"
    message: str   # what it means, why it happens, which knobs to try


def diagnose(history: Mapping[str, Sequence[float]], loss: str,
             evals: Sequence[Mapping[str, float]] = ()) -> list[Finding]:
    """Findings about the recent training window (most severe first); [] when all looks well."""
    window = _recent(history)
    diverged = _divergence(window)
    if diverged:
        return [diverged]     # once the numbers are NaN, every other rule would be noise
    findings: list[Finding] = []
    if _rows(window) >= MIN_ROWS:
        findings += _d_overpowering(window, loss) + _vanishing_gradients(window, loss)
    findings += _mode_collapse(evals)
    if _rows(window) >= MIN_ROWS:
        findings += _oscillation(window)
    return findings


# --- the window --------------------------------------------------------------------------
def _recent(history: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """The last half (at most WINDOW_MAX rows) of every column, as float arrays."""
    columns = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in history.items()
               if v is not None}
    n = min((len(v) for v in columns.values()), default=0)
    keep = min(max(n // 2, min(n, MIN_ROWS)), WINDOW_MAX)
    return {k: v[len(v) - keep:] for k, v in columns.items()}


def _rows(window: dict[str, np.ndarray]) -> int:
    return min((len(v) for v in window.values()), default=0)


def _mean(window: dict[str, np.ndarray], key: str) -> float:
    values = window.get(key)
    return float(values.mean()) if values is not None and len(values) else float("nan")


# --- rules -------------------------------------------------------------------------------
def _divergence(window: dict[str, np.ndarray]) -> Finding | None:
    # Exempt from MIN_ROWS: a NaN is certain evidence, and every step after it is wasted.
    losses = [window[k] for k in ("d_loss", "g_loss") if k in window]
    grads = [window[k] for k in ("grad_norm_d", "grad_norm_g") if k in window]
    if any(not np.isfinite(v).all() for v in losses + grads):
        what = "a loss or gradient became NaN or infinite"
    elif any(len(v) and np.abs(v).max() > EXPLODED for v in losses):
        what = f"a loss grew beyond {EXPLODED:g}"
    else:
        return None
    return Finding(
        "divergence", "error", "Training has diverged",
        f"The numbers blew up: {what}. Once that happens the networks cannot recover and the "
        "samples become garbage. It usually means a step size that is too large for the loss "
        "surface. Reset and try smaller learning rates (lr_d, lr_g, e.g. divide by 10), "
        "beta1=0.5, or a better-behaved objective (loss=wgan_gp or r1_gamma > 0).")


def _d_overpowering(window: dict[str, np.ndarray], loss: str) -> list[Finding]:
    if loss not in PROBABILITY_LOSSES:
        return []
    d_real, d_fake = _mean(window, "d_real"), _mean(window, "d_fake")
    if not (d_fake < D_FAKE_LOW and d_real > D_REAL_HIGH):
        return []
    return [Finding(
        "d_overpowering", "warning", "The discriminator is winning",
        f"D is almost always right: it gives real data D(x) = {d_real:.2f} and fakes "
        f"D(G(z)) = {d_fake:.2f}. A GAN learns from the contest, and a judge who always wins "
        "teaches the generator little: its samples stop improving. This happens when D learns "
        "faster than G. Try lowering lr_d or raising lr_g, fewer d_steps (or more g_steps), "
        "label_smoothing (e.g. 0.1) or instance_noise, or r1_gamma / spectral_norm to slow D.")]


def _vanishing_gradients(window: dict[str, np.ndarray], loss: str) -> list[Finding]:
    d_fake = _mean(window, "d_fake")
    g = np.median(window["grad_norm_g"]) if len(window.get("grad_norm_g", ())) else np.nan
    d = np.median(window["grad_norm_d"]) if len(window.get("grad_norm_d", ())) else np.nan
    tiny = bool(d > 0 and g < GRAD_RATIO * d)
    saturated = loss == "minimax" and d_fake < D_FAKE_LOW
    if not (tiny or saturated):
        return []
    numbers = f"the generator's gradient norm is {g:.2g} against the discriminator's {d:.2g}"
    if loss == "minimax":
        why = (f"With loss=minimax the generator minimises log(1 - D(G(z))), which is flat when "
               f"D rejects the fakes (D(G(z)) = {d_fake:.2f} here): its gradient is about "
               "D(G(z)) itself, so G gets almost no signal exactly when it needs it most. "
               "Switch to loss=nonsaturating (G maximises log D(G(z)) instead: same goal, "
               "strong gradient early on), or slow D down (lower lr_d, fewer d_steps).")
    else:
        why = ("The discriminator's feedback no longer reaches the generator, usually because "
               "D has become so confident that its output is saturated. Slow D down (lower "
               "lr_d, fewer d_steps), raise lr_g, or add instance_noise, r1_gamma or "
               "spectral_norm; loss=wgan_gp keeps gradients alive by design.")
    return [Finding("vanishing_gradients", "warning", "The generator's gradients are vanishing",
                    f"The generator is barely learning: {numbers}. {why}")]


def _mode_collapse(evals: Sequence[Mapping[str, float]]) -> list[Finding]:
    modes = [r for r in evals if _finite(r, "modes_covered") and _finite(r, "modes_total")
             and r["modes_total"] > 0]
    classes = [r for r in evals if _finite(r, "classes_covered")]
    # Zero covered throughout is "not learned yet" (or diverged), not collapse: collapse means
    # good samples of too few kinds. But one zero among few is collapse too: a collapsed G hops
    # from cluster to cluster and, caught between two for an evaluation, covers none (seen on
    # ring_stable with lr_g 0.02: 1, 1, 0, 1 ...). Demanding every evaluation > 0 hid the finding
    # for two evaluations after each hop.
    recent = modes[-COLLAPSE_EVALS:]
    if len(modes) >= COLLAPSE_EVALS and any(r["modes_covered"] > 0 for r in recent) and all(
            r["modes_covered"] < COLLAPSE_FRACTION * r["modes_total"] for r in recent):
        most = max(recent, key=lambda r: r["modes_covered"])
        found = f"only {int(most['modes_covered'])} of {int(most['modes_total'])} modes"
    elif len(classes) >= COLLAPSE_EVALS and all(
            0 < r["classes_covered"] <= COLLAPSE_CLASSES for r in classes[-COLLAPSE_EVALS:]):
        found = f"only {int(classes[-1]['classes_covered'])} of 10 digit classes"
    else:
        return []
    return [Finding(
        "mode_collapse", "warning", "Mode collapse: the generator covers few modes",
        f"The generator produces {found}, evaluation after evaluation. It has found a few "
        "outputs that fool the discriminator and keeps making them; when D catches on, G "
        "often jumps to another small set instead of spreading out. Try loss=wgan_gp or "
        "r1_gamma > 0 (smoother feedback from D), lower learning rates (lr_g, lr_d), a larger "
        "batch_size, or more d_steps so D notices the missing modes sooner.")]


def _oscillation(window: dict[str, np.ndarray]) -> list[Finding]:
    d_fake = window.get("d_fake")
    if d_fake is None or len(d_fake) < MIN_ROWS:
        return []
    lo, mid, hi = np.percentile(d_fake, [10, 50, 90])
    if hi - lo <= SWING:
        return []             # small noise around any level is normal training
    # Crossings of the median with hysteresis (a quarter of the spread): jitter near the
    # median does not count, only real swings from one side to the other.
    band = (hi - lo) / 4
    side, crossings = 0, 0    # side: +1 above the band, -1 below, 0 before the first exit
    for v in d_fake:
        new = 1 if v > mid + band else -1 if v < mid - band else side
        if side != 0 and new != side:
            crossings += 1
        side = new
    if crossings < SWING_CROSSINGS:
        return []
    return [Finding(
        "oscillation", "info", "The two networks are oscillating",
        f"D(G(z)) keeps swinging between about {lo:.2f} and {hi:.2f} ({crossings} swings in the "
        "recent window): G and D take turns overshooting each other instead of settling. "
        "Some back-and-forth is normal in a GAN; large swings mean the steps are too big. "
        "Try lower learning rates (lr_d, lr_g), beta1=0.5 or lower, or r1_gamma > 0 / "
        "loss=wgan_gp to damp the game.")]


def _finite(row: Mapping[str, float], key: str) -> bool:
    value = row.get(key)
    try:
        return value is not None and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False
