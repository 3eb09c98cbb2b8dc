"""playground.dirac and its tab: the Dirac-GAN's acceptance numbers (simultaneous GD spirals out,
alternating GD orbits, R1 converges), the eigenvalues against closed forms written out here and
against finite differences of the very maps the module iterates, and the tab's handlers called
directly (no browser).

Which objective: the paper's game L(θ, ψ) = f(ψθ) + f(0) is zero-sum, "minimax" here. The
non-saturating G has the same Jacobian at (0, 0) but its flow loses distance away from it
(d/dt ½r² = −ψθ·tanh(ψθ/2)), so from (1, 1) it is pulled in to a cycle of radius ≈ 0.45 rather
than spiralling out: its tests start inside that cycle, at (0.1, 0.1).
"""
import math

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest

from playground import dirac
from playground.ui.dirac_tab import LESSON_CHOICES, DiracHandlers, DiracView

START, LR, STEPS = (1.0, 1.0), 0.1, 500
OBJECTIVE_STARTS = [("minimax", (1.0, 1.0)), ("nonsaturating", (0.1, 0.1))]
SMOOTH = [k for k in dirac.OBJECTIVES if k != "wgan_gp"]      # wgan_gp has no Jacobian at (0, 0)


def distances(**settings) -> np.ndarray:
    kwargs = dict(start=START, steps=STEPS, lr_d=LR, lr_g=LR)
    return dirac.distance(dirac.trajectory(**{**kwargs, **settings}))


# --- trajectories -------------------------------------------------------------------------
@pytest.mark.parametrize("objective, start", OBJECTIVE_STARTS)
def test_simultaneous_gd_ends_farther_than_it_started(objective, start):
    d = distances(objective=objective, start=start, mode="simultaneous")
    assert np.isfinite(d).all()
    assert d[-1] > 1.5 * d[0]          # measured: ×1.59 (minimax), ×1.67 (non-saturating)


@pytest.mark.parametrize("objective, start", OBJECTIVE_STARTS)
def test_alternating_gd_orbits_at_its_starting_distance(objective, start):
    d = distances(objective=objective, start=start, mode="alternating")
    assert np.isfinite(d).all()
    assert (d >= 0.5 * d[0]).all() and (d <= 2.0 * d[0]).all()    # measured: 0.94-1.03 × d[0]


def test_nonsaturating_from_afar_is_pulled_in_to_a_cycle_not_to_zero():
    d = distances(objective="nonsaturating", mode="simultaneous", steps=3000)
    assert d[-1] < 0.5 * d[0]            # 1.41 -> 0.45: the flow's own damping far out ...
    assert d[-500:].min() > 0.4          # ... but not to the equilibrium: a limit cycle


@pytest.mark.parametrize("objective", ["minimax", "nonsaturating"])
@pytest.mark.parametrize("mode", dirac.MODES)
def test_r1_converges_to_the_equilibrium(objective, mode):
    # 500 steps: first within 1e-3 at steps 138-197 (|μ| = 0.95 at γ = 1, lr 0.1).
    d = distances(objective=objective, mode=mode, regulariser="r1", gamma=1.0)
    assert d[-1] < 1e-3
    assert distances(objective=objective, mode=mode)[-1] > 0.3    # and without R1 it does not


def test_an_escape_becomes_nan_rows_not_an_overflow():
    path = dirac.trajectory(START, 5000, "hinge", mode="simultaneous", lr_d=1.0, lr_g=1.0)
    assert path.shape == (5001, 2)
    escaped = ~np.isfinite(path).all(axis=1)
    assert escaped.any() and escaped[np.argmax(escaped):].all()
    assert np.abs(path[~escaped]).max() <= dirac.ESCAPE


# --- eigenvalues: closed forms ------------------------------------------------------------
def same_set(got, want, tol) -> bool:
    got, want = sorted(np.asarray(got, complex), key=lambda z: (z.real, z.imag)), \
        sorted(np.asarray(want, complex), key=lambda z: (z.real, z.imag))
    return len(got) == len(want) and all(abs(a - b) <= tol for a, b in zip(got, want))


@pytest.mark.parametrize("objective, slope", [("minimax", 0.5), ("nonsaturating", 0.5),
                                              ("wgan", 1.0), ("hinge", 1.0)])
@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_r1_eigenvalues_are_the_papers(objective, slope, gamma):
    root = np.sqrt(complex(gamma ** 2 / 4 - slope ** 2))
    lam = [-gamma / 2 + root, -gamma / 2 - root]
    got = dirac.eigen(objective, "r1", gamma=gamma, mode="simultaneous", lr_d=LR, lr_g=LR)
    assert same_set(got["continuous"], lam, 1e-6)
    assert same_set(got["discrete"], [1 + LR * x for x in lam], 1e-6)     # μ = 1 + ηλ


def test_unregularised_eigenvalues_rotate_and_alternating_stays_on_the_circle():
    got = dirac.eigen("minimax", "none", mode="simultaneous", lr_d=LR, lr_g=LR)
    assert same_set(got["continuous"], [0.5j, -0.5j], 1e-6)
    assert same_set(got["discrete"], [1 + 0.05j, 1 - 0.05j], 1e-6)
    assert "imaginary axis" in got["continuous_text"] and "outside" in got["discrete_text"]
    alternating = dirac.eigen("minimax", "none", mode="alternating", lr_d=0.3, lr_g=0.05)
    assert np.abs(alternating["discrete"]) == pytest.approx([1.0, 1.0], abs=1e-12)   # det = 1
    assert "on the unit circle" in alternating["discrete_text"]


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.0])
def test_instance_noise_eigenvalues(sigma):
    # ∂_ψ v_ψ = 2σ²f''(0) = −σ²/2: λ = −σ²/4 ± √(σ⁴/16 − 1/4).
    root = np.sqrt(complex(sigma ** 4 / 16 - 0.25))
    got = dirac.eigen("nonsaturating", "instance_noise", sigma=sigma)
    assert same_set(got["continuous"], [-sigma ** 2 / 4 + root, -sigma ** 2 / 4 - root], 1e-6)


def test_objective_constants_are_the_slopes_at_zero():
    h = 1e-5
    for key, obj in dirac.OBJECTIVES.items():
        assert float(obj.d_slope(0.0)) == pytest.approx(obj.d_slope0, abs=1e-12), key
        assert float(obj.g_slope(0.0)) == pytest.approx(obj.g_slope0, abs=1e-12), key
        curve = (float(obj.d_slope(h)) - float(obj.d_slope(-h))) / (2 * h)
        assert curve == pytest.approx(obj.d_curve0, abs=1e-8), key


def test_wgan_gp_has_no_rest_point_at_zero():
    got = dirac.eigen("wgan_gp")
    assert got["continuous"].size == 0 and got["discrete"].size == 0
    assert "not a rest point" in got["continuous_text"]
    game = dirac.make_game("wgan_gp")
    assert float(game.v_psi(0.0, 1e-9)) > 1.9 and float(game.v_psi(0.0, -1e-9)) < -1.9


# --- eigenvalues: finite differences of the maps the module iterates ----------------------
CASES = [(obj, reg, mode, lr_d, lr_g, k_d, k_g)
         for obj in SMOOTH for reg in dirac.REGULARISERS for mode in dirac.MODES
         for lr_d, lr_g, k_d, k_g in [(0.1, 0.1, 1, 1), (0.4, 0.05, 3, 2)]]


@pytest.mark.parametrize("objective, regulariser, mode, lr_d, lr_g, d_steps, g_steps", CASES)
def test_jacobians_agree_with_finite_differences(objective, regulariser, mode, lr_d, lr_g,
                                                 d_steps, g_steps):
    gamma, sigma = 0.3, 0.7
    game = dirac.make_game(objective, regulariser, gamma, sigma)
    field = dirac.numeric_jacobian(lambda t, p: (float(game.v_theta(t, p)),
                                                 float(game.v_psi(t, p))))
    assert np.abs(field - dirac.field_jacobian(objective, regulariser, gamma, sigma)).max() < 1e-5
    step = dirac.numeric_jacobian(dirac.update_map(game, mode, lr_d, lr_g, d_steps, g_steps))
    got = dirac.eigen(objective, regulariser, gamma, sigma, mode, lr_d, lr_g, d_steps, g_steps)
    assert np.abs(step - got["update"]).max() < 1e-5
    # These settings keep the eigenvalues apart (a double one would amplify 1e-10 to 1e-5).
    assert same_set(np.linalg.eigvals(step), got["discrete"], 1e-5)
    assert same_set(np.linalg.eigvals(field), got["continuous"], 1e-5)


# --- lessons and the tab's handlers -------------------------------------------------------
def test_lessons_are_complete_and_say_what_they_show():
    required = {"simultaneous_spirals_out", "alternating_orbits", "r1_converges", "ttur"}
    assert required <= set(dirac.LESSONS)
    for key, lesson in dirac.LESSONS.items():
        assert set(lesson.resolved()) == set(dirac.SETTINGS), key
        assert lesson.text.count(".") >= 2, key
    ttur = dirac.LESSONS["ttur"].resolved()
    assert ttur["lr_d"] != ttur["lr_g"]


@pytest.fixture(scope="module")
def tab():
    with gr.Blocks():
        view = DiracView.create()
    return view, DiracHandlers(view)


def typed(view, **changes) -> dict:
    values = {component: component.value for component in view.fields.values()}
    values.update({view.fields[name]: value for name, value in changes.items()})
    return values


@pytest.mark.parametrize("name, value, label", [("lr_d", "abc", "Learning rate of D"),
                                                ("lr_g", "-5", "Learning rate of G"),
                                                ("lr_d", "nan", "Learning rate of D"),
                                                ("steps", "2.5", "Steps"),
                                                ("theta", None, "Start θ")])
def test_bad_typed_input_names_the_field_and_changes_no_figure(tab, name, value, label):
    view, handlers = tab
    out = handlers.run(typed(view, **{name: value}))
    assert set(out) == {view.message}
    assert out[view.message].startswith("⚠️") and label in out[view.message]


def test_valid_input_returns_three_figures(tab):
    view, handlers = tab
    out = handlers.run(typed(view, lr_d="0,1", regulariser="r1", gamma="1"))   # a decimal comma
    for plot in (view.field_plot, view.distance_plot, view.eigen_plot):
        assert isinstance(out[plot], go.Figure)
    assert "within 0.001" in out[view.message]
    assert "left half-plane" in out[view.eigen_text]


def test_choosing_a_lesson_sets_its_fields_and_runs_it(tab):
    view, handlers = tab
    assert [key for _, key in LESSON_CHOICES] == list(dirac.LESSONS)
    out = handlers.choose_lesson({view.lesson: "r1_converges"})
    assert out[view.fields["regulariser"]] == "r1" and out[view.fields["gamma"]] == "1"
    assert out[view.lesson_text] == dirac.LESSONS["r1_converges"].text
    assert isinstance(out[view.eigen_plot], go.Figure) and "step 183" in out[view.message]
    assert math.isclose(float(out[view.fields["lr_d"]]), 0.1)
