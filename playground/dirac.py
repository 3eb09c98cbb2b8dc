"""The Dirac-GAN of Mescheder et al. 2018 ("Which training methods for GANs do actually converge?").

The smallest GAN that shows why training circles instead of converging: the real data is a point
mass at 0, the generator G = δ_θ puts all its mass on the one point θ, and the discriminator is
linear, D_ψ(x) = ψ·x. Two numbers play the game and the equilibrium is (θ, ψ) = (0, 0): G on the
data and D indifferent. Everything here is closed form (numpy only), so a trajectory of thousands
of steps, the field over a grid and the eigenvalues of the update are instant.

    trajectory(start, steps, objective, regulariser, ...) -> (steps + 1, 2) array of (θ, ψ)
    vector_field(extent, n, objective, ...) -> (θ, ψ, v_θ, v_ψ) grids
    eigen(objective, regulariser, ..., mode, lr_d, lr_g, ...) -> eigenvalues and what they mean

The game, in the paper's notation (D's output large means "fake"; the sign convention only flips ψ):
    D ascends  L_D(θ, ψ) = E f(ψ·x_fake) + E f(−ψ·x_real) − penalties,   x_fake = θ, x_real = 0
    G descends L_G(θ, ψ) = E g(ψ·x_fake)
    field v(θ, ψ) = (−∂_θ L_G, ∂_ψ L_D) = (−ψ·g'(ψθ), θ·f'(ψθ) − penalty slope)   (no noise)
The real term f(−ψ·0) is a constant: without noise, only the fake point moves D.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MODES = ("simultaneous", "alternating")
ESCAPE = 1e6               # |θ| or |ψ| past this: the run has left any picture; NaN rows after
NOISE_NODES = 24           # Gauss-Hermite nodes for E over instance noise: exact for degree 47
ON_CIRCLE = 1e-9           # |μ| - 1 (or Re λ) within this counts as "on" the circle (axis)


# --- objectives ---------------------------------------------------------------------------
def _logistic_slope(t):
    # f(t) = −log(1 + e^{−t}) (log-sigmoid): f'(t) = 1/(1 + e^{t}); tanh form never overflows.
    return 0.5 * (1.0 - np.tanh(0.5 * np.asarray(t, dtype=float)))


def _nonsaturating_slope(t):
    # G minimises g(t) = −f(−t) (maximises log "real" rather than minimising log "fake"):
    # g'(t) = f'(−t). Equal to f'(t) at t = 0, so the two differ only away from the equilibrium,
    # where this flow loses distance: d/dt ½(θ² + ψ²) = ψθ(f'(ψθ) − f'(−ψθ)) = −ψθ·tanh(ψθ/2).
    return _logistic_slope(-np.asarray(t, dtype=float))


def _unit_slope(t):
    # f(t) = t or g(t) = t (Wasserstein): the slope never saturates.
    return np.ones_like(np.asarray(t, dtype=float))


def _hinge_slope(t):
    # f(t) = −max(0, 1 − t): D stops pushing once the fake is past the margin (ψθ ≥ 1).
    return (np.asarray(t, dtype=float) < 1.0).astype(float)


@dataclass(frozen=True)
class Objective:
    """One GAN objective in the Dirac game: D's f and G's g through their slopes, and constants.

    d_slope0 = f'(0), g_slope0 = g'(0) and d_curve0 = f''(0) are written out by hand: they are
    what the eigenvalues at the equilibrium are made of (tests check them against the slopes).
    """

    label: str
    d_slope: Callable          # f'
    g_slope: Callable          # g'
    d_slope0: float
    g_slope0: float
    d_curve0: float
    clip: float | None = None  # WGAN: ψ clipped to [−clip, clip] after every D step (|D'| ≤ clip)
    gp_weight: float = 0.0     # WGAN-GP: D ascends L_D − weight·(|ψ| − 1)²


OBJECTIVES: dict[str, Objective] = {
    # f = log-sigmoid for both players: f'(0) = 1/2, f''(0) = −σ(0)σ(0) = −1/4.
    "minimax": Objective("minimax (saturating)", _logistic_slope, _logistic_slope, 0.5, 0.5, -0.25),
    "nonsaturating": Objective("non-saturating", _logistic_slope, _nonsaturating_slope,
                               0.5, 0.5, -0.25),
    # f(t) = g(t) = t: L = ψθ, field (−ψ, θ). Clipping binds only at |ψ| = 1, never near (0, 0).
    "wgan": Objective("WGAN (ψ clipped to ±1)", _unit_slope, _unit_slope, 1.0, 1.0, 0.0, clip=1.0),
    # ∇_x D = ψ at every x, so the penalty on the interpolates is (|ψ| − 1)² exactly. Its slope
    # 2λ(|ψ| − 1)·sign ψ jumps from +2λ to −2λ across ψ = 0: (0, 0) is not a rest point at all.
    "wgan_gp": Objective("WGAN-GP (λ = 1)", _unit_slope, _unit_slope, 1.0, 1.0, 0.0, gp_weight=1.0),
    # As in losses.py, hinge D with the Wasserstein G (g(t) = t, G minimises ψθ).
    "hinge": Objective("hinge", _hinge_slope, _unit_slope, 1.0, 1.0, 0.0),
}


# --- regularisers -------------------------------------------------------------------------
@dataclass(frozen=True)
class Regulariser:
    """What is added to the game: a γ/2·ψ² penalty on D, or instance noise of std σ."""

    label: str
    uses_gamma: bool = False
    uses_sigma: bool = False


REGULARISERS: dict[str, Regulariser] = {
    "none": Regulariser("none"),
    # ∇_x D(x) = ψ for every x, so R1 (at the real point) and R2 (at the fake one) are the same
    # penalty γ/2·ψ² here; D's field gains −γψ, a friction on ψ that the bare game lacks.
    "r1": Regulariser("R1 gradient penalty (real data)", uses_gamma=True),
    "r2": Regulariser("R2 gradient penalty (fakes)", uses_gamma=True),
    # x_real = ε, x_fake = θ + ε with ε ~ N(0, σ²). The expectations have no closed form for
    # the log-sigmoid; Gauss-Hermite quadrature computes them deterministically. At (0, 0) the
    # Jacobian is closed form all the same: ∂_ψ v_ψ = E[ε²]f''(0) + E[ε²]f''(0) = 2σ²f''(0).
    "instance_noise": Regulariser("instance noise", uses_sigma=True),
}


@dataclass(frozen=True)
class Game:
    """An objective with its regulariser, resolved once; v(θ, ψ) works on arrays of any shape."""

    objective: Objective
    gamma: float = 0.0         # 0 unless the regulariser uses it
    noise: np.ndarray = field(default_factory=lambda: np.zeros(1))     # quadrature nodes ε_k
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))    # their weights, sum 1

    def v_theta(self, theta, psi):
        """−∂_θ L_G = −ψ·E g'(ψ(θ + ε))."""
        theta, psi = np.asarray(theta, float)[..., None], np.asarray(psi, float)[..., None]
        return -psi[..., 0] * (self.objective.g_slope(psi * (theta + self.noise)) @ self.weights)

    def v_psi(self, theta, psi):
        """∂_ψ L_D = E (θ + ε)f'(ψ(θ + ε)) − E ε f'(−ψε) − γψ − 2λ(|ψ| − 1)sign ψ."""
        theta, psi = np.asarray(theta, float)[..., None], np.asarray(psi, float)[..., None]
        fake = theta + self.noise
        slope = self.objective.d_slope
        ascent = (fake * slope(psi * fake) - self.noise * slope(-psi * self.noise)) @ self.weights
        psi = psi[..., 0]
        ascent = ascent - self.gamma * psi
        if self.objective.gp_weight:
            ascent = ascent - 2 * self.objective.gp_weight * (np.abs(psi) - 1) * np.sign(psi)
        return ascent


def make_game(objective: str = "nonsaturating", regulariser: str = "none", gamma: float = 0.0,
              sigma: float = 0.0) -> Game:
    """The Game for registry keys; ValueError names an unknown key."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is not one of {tuple(OBJECTIVES)}")
    if regulariser not in REGULARISERS:
        raise ValueError(f"regulariser {regulariser!r} is not one of {tuple(REGULARISERS)}")
    chosen = REGULARISERS[regulariser]
    if chosen.uses_sigma and sigma > 0:
        # Probabilists' Hermite nodes integrate against e^{−x²/2}; scaled: E over N(0, σ²).
        nodes, weights = np.polynomial.hermite_e.hermegauss(NOISE_NODES)
        return Game(OBJECTIVES[objective], 0.0, sigma * nodes, weights / weights.sum())
    return Game(OBJECTIVES[objective], gamma if chosen.uses_gamma else 0.0)


# --- updates ------------------------------------------------------------------------------
def update_map(game: Game, mode: str = "simultaneous", lr_d: float = 0.1, lr_g: float = 0.1,
               d_steps: int = 1, g_steps: int = 1) -> Callable[[float, float], tuple[float, float]]:
    """One round of gradient play, (θ, ψ) -> (θ', ψ').

    alternating: D takes d_steps steps with θ fixed, then G takes g_steps against the new ψ.
    simultaneous: the same inner steps, but each player sees only the other's old value.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {MODES}")
    clip = game.objective.clip

    def d_steps_from(theta, psi):
        for _ in range(d_steps):
            psi = psi + lr_d * float(game.v_psi(theta, psi))
            if clip is not None:
                psi = min(max(psi, -clip), clip)
        return psi

    def g_steps_from(theta, psi):
        for _ in range(g_steps):
            theta = theta + lr_g * float(game.v_theta(theta, psi))
        return theta

    def one_round(theta: float, psi: float) -> tuple[float, float]:
        new_psi = d_steps_from(theta, psi)
        return g_steps_from(theta, new_psi if mode == "alternating" else psi), new_psi

    return one_round


def trajectory(start=(1.0, 1.0), steps: int = 500, objective: str = "nonsaturating",
               regulariser: str = "none", gamma: float = 0.0, sigma: float = 0.0,
               mode: str = "simultaneous", lr_d: float = 0.1, lr_g: float = 0.1, d_steps: int = 1,
               g_steps: int = 1) -> np.ndarray:
    """(steps + 1, 2) array of (θ, ψ), row 0 the start; rows after an escape past ESCAPE are NaN."""
    step = update_map(make_game(objective, regulariser, gamma, sigma), mode, lr_d, lr_g,
                      d_steps, g_steps)
    path = np.full((steps + 1, 2), np.nan)
    theta, psi = float(start[0]), float(start[1])
    path[0] = theta, psi
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(1, steps + 1):
            theta, psi = step(theta, psi)
            if not (abs(theta) <= ESCAPE and abs(psi) <= ESCAPE):      # NaN fails too
                break
            path[i] = theta, psi
    return path


def distance(traj: np.ndarray) -> np.ndarray:
    """Distance of each row of a trajectory from the equilibrium (0, 0)."""
    return np.hypot(traj[:, 0], traj[:, 1])


def vector_field(extent: float = 2.0, n: int = 15, objective: str = "nonsaturating",
                 regulariser: str = "none", gamma: float = 0.0,
                 sigma: float = 0.0) -> tuple[np.ndarray, ...]:
    """(θ, ψ, v_θ, v_ψ), each (n, n), on a grid over [−extent, extent]²: the continuous flow."""
    game = make_game(objective, regulariser, gamma, sigma)
    axis = np.linspace(-extent, extent, n)
    theta, psi = np.meshgrid(axis, axis)
    return theta, psi, game.v_theta(theta, psi), game.v_psi(theta, psi)


# --- eigenvalues at the equilibrium -------------------------------------------------------
def field_jacobian(objective: str = "nonsaturating", regulariser: str = "none",
                   gamma: float = 0.0, sigma: float = 0.0) -> np.ndarray | None:
    """∂v/∂(θ, ψ) at (0, 0) in closed form, or None where v is not differentiable there (WGAN-GP).

    ∂v_θ/∂θ = −ψ²E g'' = 0,  ∂v_θ/∂ψ = −g'(0),  ∂v_ψ/∂θ = f'(0),
    ∂v_ψ/∂ψ = θ²f''(0) + 2σ²f''(0) − γ = 2σ²f''(0) − γ.
    """
    game = make_game(objective, regulariser, gamma, sigma)
    chosen = game.objective
    if chosen.gp_weight:
        return None
    noise_variance = float(game.noise ** 2 @ game.weights)      # σ² (exactly, for the nodes)
    return np.array([[0.0, -chosen.g_slope0],
                     [chosen.d_slope0, 2 * noise_variance * chosen.d_curve0 - game.gamma]])


def _geometric(ratio: float, count: int) -> float:
    """1 + r + ... + r^(count − 1): what k inner steps of one player accumulate. Summed term by
    term: (1 − r^k)/(1 − r) loses digits when r is within rounding of 1 (a tiny γ)."""
    return float(sum(ratio ** j for j in range(count)))


def update_jacobian(jacobian: np.ndarray, mode: str = "simultaneous", lr_d: float = 0.1,
                    lr_g: float = 0.1, d_steps: int = 1, g_steps: int = 1) -> np.ndarray:
    """The Jacobian of one round of update_map at (0, 0), from the field's J = [[a, b], [c, d]].

    One D step is [[1, 0], [η_d c, 1 + η_d d]], k of them [[1, 0], [η_d c S_k(r), r^k]] with
    r = 1 + η_d d and S_k the geometric sum; k G steps are [[s^k, η_g b S_k(s)], [0, 1]] with
    s = 1 + η_g a. Alternating multiplies them (G after D); simultaneous takes G's row from
    one and D's row from the other, since each player sees the other's old value.
    """
    (a, b), (c, d) = jacobian
    r, s = 1.0 + lr_d * d, 1.0 + lr_g * a
    d_row = np.array([lr_d * c * _geometric(r, d_steps), r ** d_steps])
    g_block = np.array([[s ** g_steps, lr_g * b * _geometric(s, g_steps)], [0.0, 1.0]])
    if mode == "alternating":
        return g_block @ np.array([[1.0, 0.0], d_row])
    return np.array([g_block[0], d_row])


def eigenvalues_2x2(matrix: np.ndarray) -> np.ndarray:
    """tr/2 ± √(tr²/4 − det), complex, the larger modulus first: the closed form, not LAPACK."""
    trace = matrix[0, 0] + matrix[1, 1]
    det = matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0]
    root = np.sqrt(complex(trace * trace / 4 - det))
    pair = np.array([trace / 2 + root, trace / 2 - root])
    return pair[np.argsort(-np.abs(pair), kind="stable")]


def numeric_jacobian(func: Callable[[float, float], tuple[float, float]], point=(0.0, 0.0),
                     h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of a map (θ, ψ) -> 2 numbers: the check on the closed forms."""
    columns = []
    for axis in range(2):
        step = np.zeros(2)
        step[axis] = h
        ahead = np.asarray(func(*(np.asarray(point) + step)), dtype=float)
        behind = np.asarray(func(*(np.asarray(point) - step)), dtype=float)
        columns.append((ahead - behind) / (2 * h))
    return np.stack(columns, axis=1)


def _discrete_sentence(mu: np.ndarray) -> str:
    radius = float(np.abs(mu).max())
    circling = abs(mu[0].imag) > ON_CIRCLE
    if radius > 1 + ON_CIRCLE:
        how = "spirals out" if circling else "heads out without circling"
        return (f"Update map near (0, 0): largest |μ| = {radius:.6g}, outside the unit circle: "
                f"every step multiplies the distance by about {radius:.5g}, so it {how}.")
    if radius >= 1 - ON_CIRCLE:
        return ("Update map near (0, 0): |μ| = 1, on the unit circle: it orbits forever, "
                "neither converging nor escaping.")
    how = "spirals in" if circling else "heads in without circling"
    per_decade = np.log(10) / -np.log(radius) if radius > 0 else 1.0
    return (f"Update map near (0, 0): largest |μ| = {radius:.6g}, inside the unit circle: it "
            f"{how} and converges, about {per_decade:.0f} steps for each tenfold step closer.")


def _continuous_sentence(lam: np.ndarray) -> str:
    real = float(lam.real.max())
    if abs(real) <= ON_CIRCLE:
        return ("Continuous flow near (0, 0): eigenvalues on the imaginary axis: pure rotation, "
                "it circles the equilibrium forever.")
    if real < 0:
        return (f"Continuous flow near (0, 0): eigenvalues in the left half-plane (largest real "
                f"part {real:.4g}): the flow converges.")
    return (f"Continuous flow near (0, 0): an eigenvalue in the right half-plane ({real:.4g}): "
            "the flow runs away.")


def eigen(objective: str = "nonsaturating", regulariser: str = "none", gamma: float = 0.0,
          sigma: float = 0.0, mode: str = "simultaneous", lr_d: float = 0.1, lr_g: float = 0.1,
          d_steps: int = 1, g_steps: int = 1) -> dict:
    """Eigenvalues at (0, 0) of the continuous field ("continuous", λ) and of one round of the
    update map ("discrete", μ), complex arrays, with a sentence each saying what they mean
    ("continuous_text", "discrete_text"), and the two Jacobians ("jacobian", "update")."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {MODES}")
    jacobian = field_jacobian(objective, regulariser, gamma, sigma)
    if jacobian is None:
        nothing = np.array([], dtype=complex)
        why = ("(0, 0) is not a rest point here: the penalty (|ψ| − 1)² pushes |ψ| towards 1, "
               "and its slope jumps across ψ = 0, so there is no Jacobian to take.")
        return {"continuous": nothing, "discrete": nothing, "jacobian": None, "update": None,
                "continuous_text": "Continuous flow: " + why,
                "discrete_text": "Update map: no eigenvalues either, for the same reason."}
    update = update_jacobian(jacobian, mode, lr_d, lr_g, d_steps, g_steps)
    lam, mu = eigenvalues_2x2(jacobian), eigenvalues_2x2(update)
    return {"continuous": lam, "discrete": mu, "jacobian": jacobian, "update": update,
            "continuous_text": _continuous_sentence(lam), "discrete_text": _discrete_sentence(mu)}


# --- lessons ------------------------------------------------------------------------------
SETTINGS = ("objective", "regulariser", "gamma", "sigma", "mode", "lr_d", "lr_g", "d_steps",
            "g_steps", "steps", "start")
# The paper's standard GAN is the zero-sum game L = f(ψθ) + f(0): "minimax" here. Its flow keeps
# θ² + ψ² constant exactly (d/dt ½(θ² + ψ²) = −θψ f' + ψθ f' = 0), so what the steps do to
# the distance is all the discretisation's doing: the cleanest picture, hence the default.
DEFAULTS = dict(objective="minimax", regulariser="none", gamma=1.0, sigma=1.0,
                mode="simultaneous", lr_d=0.1, lr_g=0.1, d_steps=1, g_steps=1, steps=500,
                start=(1.0, 1.0))


@dataclass(frozen=True)
class Lesson:
    """A named setting of the game and what a student should see in it."""

    label: str
    text: str
    settings: dict

    def resolved(self) -> dict:
        """Every setting: the lesson's, then DEFAULTS for the rest."""
        return {**DEFAULTS, **self.settings}


LESSONS: dict[str, Lesson] = {
    "simultaneous_spirals_out": Lesson(
        "Simultaneous GD spirals out",
        "Both players step at once from the same point. The true flow circles the equilibrium, "
        "and a straight step along a circle's tangent always lands a little outside it: the "
        "update's eigenvalues lie just outside the unit circle, and in 500 steps the distance "
        "grows from 1.41 to 2.25.",
        dict(mode="simultaneous")),
    "alternating_orbits": Lesson(
        "Alternating GD circles forever",
        "D moves first and G answers D's new value. Now each round preserves area (the update's "
        "determinant is 1) and its eigenvalues sit on the unit circle: the pair orbits at about "
        "the distance it started from (1.41 to 1.45), never closer.",
        dict(mode="alternating")),
    "r1_converges": Lesson(
        "R1 penalty converges",
        "Penalising D's gradient on the real data (γ/2·ψ²) is a friction on ψ: the flow's "
        "eigenvalues move into the left half-plane and the update's inside the unit circle. "
        "The simultaneous steps that spiralled out now reach within 0.001 of (0, 0) by step 183.",
        dict(mode="simultaneous", regulariser="r1", gamma=1.0)),
    "ttur": Lesson(
        "Two learning rates (TTUR)",
        "D learns 4× faster than G and carries a small R1 (γ = 0.3). A fast D stays near its "
        "best answer to G, so G follows a steadier signal: 0.001 from (0, 0) by step 119, "
        "against step 495 with equal rates. Without the penalty the faster D only spirals out "
        "faster (distance 3.98 after 500 steps).",
        dict(mode="simultaneous", regulariser="r1", gamma=0.3, lr_d=0.4, lr_g=0.1)),
    "nonsaturating_cycle": Lesson(
        "Non-saturating: stuck on a cycle",
        "The non-saturating G has the same eigenvalues at (0, 0) as the minimax one, so near "
        "the equilibrium it spirals out too; far from it, its loss pulls the pair inwards. The "
        "two balance on a cycle: from (1, 1) the distance falls to about 0.45 and stays there "
        "(start at (0.1, 0.1) and it grows to the same cycle).",
        dict(objective="nonsaturating", mode="simultaneous", steps=3000)),
}
