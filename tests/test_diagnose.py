"""playground.diagnose on constructed histories: each rule fires on its case, and a healthy
history gives no finding at all."""
import math

import numpy as np
import pytest

from playground.config import LOSS_CHOICES
from playground.diagnose import MIN_ROWS, Finding, diagnose

CODES = {"d_overpowering", "vanishing_gradients", "mode_collapse", "oscillation", "divergence"}


def history(n=100, seed=0, **columns):
    """A healthy run of n rows (D near 0.5, similar gradient norms); `columns` override."""
    rng = np.random.default_rng(seed)
    h = {
        "step": np.arange(n) * 10.0,
        "d_loss": 1.38 + rng.normal(0, 0.03, n),
        "g_loss": 0.70 + rng.normal(0, 0.03, n),
        "d_real": 0.55 + rng.normal(0, 0.03, n),
        "d_fake": 0.45 + rng.normal(0, 0.03, n),
        "grad_norm_d": 1.0 + rng.uniform(0, 0.5, n),
        "grad_norm_g": 0.8 + rng.uniform(0, 0.5, n),
    }
    for key, value in columns.items():
        h[key] = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    return {k: list(v) for k, v in h.items()}          # plain lists, like the History hands over


def codes(findings):
    return [f.code for f in findings]


def overpowered(n=100):
    rng = np.random.default_rng(1)
    return history(n, d_real=0.95 + rng.normal(0, 0.01, n), d_fake=0.03 + rng.normal(0, 0.005, n))


@pytest.mark.parametrize("loss", LOSS_CHOICES)
def test_healthy_history_has_no_findings(loss):
    evals = [{"step": 500, "modes_covered": 8, "modes_total": 8, "high_quality": 0.9}] * 3
    assert diagnose(history(), loss, evals) == []


def test_nothing_is_said_before_min_rows():
    h = overpowered(n=MIN_ROWS - 1)
    assert diagnose(h, "minimax") == []
    assert diagnose({}, "minimax") == []
    assert "d_overpowering" in codes(diagnose(overpowered(n=MIN_ROWS), "nonsaturating"))


def test_nan_is_divergence_even_early_and_alone():
    h = overpowered()
    h["g_loss"][-1] = math.nan
    assert codes(diagnose(h, "minimax")) == ["divergence"]
    short = history(n=5)
    short["grad_norm_d"][-1] = math.inf
    found = diagnose(short, "nonsaturating")
    assert codes(found) == ["divergence"] and found[0].severity == "error"


def test_exploding_loss_is_divergence():
    h = history()
    h["d_loss"][-3] = 5e4
    assert codes(diagnose(h, "wgan_gp")) == ["divergence"]


def test_d_overpowering_for_probability_losses_only():
    for loss in ("nonsaturating", "lsgan", "minimax"):
        assert "d_overpowering" in codes(diagnose(overpowered(), loss))
    for loss in ("wgan", "wgan_gp", "hinge"):
        assert diagnose(overpowered(), loss) == []
    found = [f for f in diagnose(overpowered(), "nonsaturating") if f.code == "d_overpowering"]
    assert found[0].severity == "warning" and "lr_d" in found[0].message


def test_saturating_minimax_has_vanishing_gradients():
    found = {f.code: f for f in diagnose(overpowered(), "minimax")}
    assert set(found) == {"d_overpowering", "vanishing_gradients"}
    assert "nonsaturating" in found["vanishing_gradients"].message
    # The same numbers with the non-saturating loss: D is winning, but G still gets gradient.
    assert codes(diagnose(overpowered(), "nonsaturating")) == ["d_overpowering"]


def test_tiny_generator_gradients_are_vanishing_for_any_loss():
    n = 100
    h = history(n, grad_norm_g=np.full(n, 2e-4), grad_norm_d=np.full(n, 1.5))
    assert codes(diagnose(h, "hinge")) == ["vanishing_gradients"]
    assert codes(diagnose(history(n, grad_norm_g=0.01, grad_norm_d=1.5), "hinge")) == []


def test_only_the_recent_window_counts():
    n = 100
    bad, good = overpowered(n), history(n)
    fixed = {k: bad[k][: n // 2] + good[k][n // 2:] for k in bad}     # a live edit fixed it
    assert diagnose(fixed, "nonsaturating") == []
    broke = {k: good[k][: n // 2] + bad[k][n // 2:] for k in bad}
    assert codes(diagnose(broke, "nonsaturating")) == ["d_overpowering"]


def ring_eval(step, covered, total=8):
    return {"step": step, "modes_covered": covered, "modes_total": total, "high_quality": 0.9}


def test_mode_collapse_on_the_ring():
    evals = [ring_eval(100, 8), ring_eval(200, 2), ring_eval(300, 3)]
    assert codes(diagnose(history(), "nonsaturating", evals)) == ["mode_collapse"]
    found = diagnose(history(), "nonsaturating", [ring_eval(100, 1), ring_eval(200, 2)])[0]
    assert "2 of 8" in found.message and found.severity == "warning"
    # One bad evaluation is not a trend; half the modes or more is not collapse.
    assert diagnose(history(), "nonsaturating", [ring_eval(100, 8), ring_eval(200, 2)]) == []
    assert diagnose(history(), "nonsaturating", [ring_eval(100, 4), ring_eval(200, 4)]) == []
    # Nothing covered at all is "not learned yet", not collapse ...
    assert diagnose(history(), "nonsaturating", [ring_eval(100, 0), ring_eval(200, 0)]) == []
    # ... but a collapsed G caught between two clusters for one evaluation is still collapsed.
    hopped = [ring_eval(100, 8), ring_eval(200, 2), ring_eval(300, 0)]
    hop = diagnose(history(), "nonsaturating", hopped)
    assert codes(hop) == ["mode_collapse"] and "2 of 8" in hop[0].message
    grid = [ring_eval(100, 10, 25), ring_eval(200, 11, 25)]
    assert codes(diagnose(history(), "wgan_gp", grid)) == ["mode_collapse"]


def test_mode_collapse_on_digits():
    few = [{"step": 100, "classes_covered": 2}, {"step": 200, "classes_covered": 3}]
    assert codes(diagnose(history(), "nonsaturating", few)) == ["mode_collapse"]
    many = [{"step": 100, "classes_covered": 3}, {"step": 200, "classes_covered": 9}]
    assert diagnose(history(), "nonsaturating", many) == []
    broken = [{"step": 100, "classes_covered": None}, {"step": 200, "classes_covered": math.nan}]
    assert diagnose(history(), "nonsaturating", broken) == []


def test_oscillation():
    n = 120
    t = np.arange(n)
    swinging = history(n, d_fake=0.5 + 0.35 * np.sin(t / 3.0), d_real=0.5 - 0.3 * np.sin(t / 3.0))
    found = diagnose(swinging, "nonsaturating")
    assert codes(found) == ["oscillation"] and found[0].severity == "info"
    # One slow drift is not an oscillation, nor is noise around a level.
    drift = history(n, d_fake=np.linspace(0.1, 0.9, n))
    assert diagnose(drift, "nonsaturating") == []
    assert diagnose(history(n, seed=3), "nonsaturating") == []


def test_findings_are_frozen_and_worded():
    h = overpowered()
    h["grad_norm_g"] = [1e-6] * len(h["grad_norm_g"])
    found = diagnose(h, "minimax", [ring_eval(100, 1), ring_eval(200, 1)])
    assert set(codes(found)) == {"d_overpowering", "vanishing_gradients", "mode_collapse"}
    for f in found:
        assert isinstance(f, Finding) and f.code in CODES
        assert f.severity in ("info", "warning", "error")
        assert 0 < len(f.title) <= 60 and len(f.message) > 80
        with pytest.raises(AttributeError):
            f.code = "x"
