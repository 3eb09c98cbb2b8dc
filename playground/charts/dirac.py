"""Plotly figures of the Dirac-GAN (playground/dirac.py): the game's field with one trajectory,
the distance to the equilibrium over the steps, and the eigenvalues that decide convergence.

Numbers in, a go.Figure out, like the rest of this package. The figures are drawn once per
click, not streamed, but kept as light as train.py's: the arrows are one Scatter of NaN-separated
segments, every array is float32 and a long trajectory is thinned to PATH_POINTS points.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .train import D_COLOUR, G_COLOUR, REAL_COLOUR

PATH_POINTS = 1000         # a 5000-step spiral keeps ~25 points a turn at lr 0.1: still smooth
FONT_PX = 14               # ticks and labels: the tab is shown on a projector in lectures
DIRAC_HEIGHT = 460         # px
DISTANCE_HEIGHT = 300      # px
EIGEN_HEIGHT = 380         # px
PATH_COLOUR = "#252525"    # the trajectory: neither player's colour, it is both of them
ARROW_GREY = "#bdbdbd"     # the field stays in the background
STABLE_FILL = "rgba(27, 120, 55, 0.08)"    # where eigenvalues mean "converges", faint green
AXIS_GREY = "#737373"


def _layout(height: int, **extra) -> dict:
    """No template, readable fonts, legend on top; uirevision keeps a user's zoom across runs."""
    layout = dict(template="none", height=height, autosize=True, font=dict(size=FONT_PX),
                  margin=dict(l=64, r=20, t=40, b=56), paper_bgcolor="white",
                  plot_bgcolor="white", hovermode="closest", uirevision="dirac",
                  legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"))
    layout.update(extra)
    return layout


def _axis(title: str, colour: str = "#444", **extra) -> dict:
    return dict(title=dict(text=title, font=dict(color=colour, size=FONT_PX + 1)),
                tickfont=dict(size=FONT_PX), showgrid=False, zeroline=True,
                zerolinecolor="#d9d9d9", **extra)


def _finite_rows(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points[np.isfinite(points).all(axis=1)]


def _thinned(points: np.ndarray, limit: int = PATH_POINTS) -> np.ndarray:
    """At most `limit` rows, evenly strided; the first and the last are kept."""
    if len(points) <= limit:
        return points
    return points[np.unique(np.linspace(0, len(points) - 1, limit).round().astype(np.int64))]


def _arrow_segments(theta, psi, v_theta, v_psi) -> tuple[np.ndarray, np.ndarray]:
    """Arrows (shaft and two barbs) as x, y arrays with a NaN after every segment.

    Length grows with √|v| up to 80% of a grid cell: the direction is the message, and a linear
    scale would hide the slow arrows near the equilibrium entirely.
    """
    theta, psi = np.ravel(theta), np.ravel(psi)
    vx, vy = np.ravel(v_theta), np.ravel(v_psi)
    speed = np.hypot(vx, vy)
    keep = np.isfinite(theta) & np.isfinite(psi) & np.isfinite(speed) & (speed > 0)
    theta, psi, vx, vy, speed = theta[keep], psi[keep], vx[keep], vy[keep], speed[keep]
    if not len(speed):
        return np.array([], np.float32), np.array([], np.float32)
    cell = (np.ptp(theta) / max(np.sqrt(len(theta)) - 1, 1)) or 1.0
    length = 0.8 * cell * np.sqrt(speed / speed.max())
    ux, uy = vx / speed, vy / speed
    tip_x, tip_y = theta + ux * length, psi + uy * length
    lines = [np.stack([np.stack([theta, psi], 1), np.stack([tip_x, tip_y], 1)], 1)]
    for turn in (0.45, -0.45):                   # barbs 26° off the shaft, a third of its length
        cos, sin = np.cos(np.pi - turn), np.sin(np.pi - turn)
        bx, by = ux * cos - uy * sin, ux * sin + uy * cos
        barb = np.stack([tip_x + bx * length / 3, tip_y + by * length / 3], 1)
        lines.append(np.stack([np.stack([tip_x, tip_y], 1), barb], 1))
    segments = np.concatenate(lines)                                  # (L, 2 points, 2)
    gaps = np.full((len(segments), 1, 2), np.nan)
    joined = np.concatenate([segments, gaps], axis=1).reshape(-1, 2).astype(np.float32)
    return joined[:, 0], joined[:, 1]


def dirac_figure(field, trajectory) -> go.Figure:
    """The field v(θ, ψ) as arrows, the trajectory over it, its start and the equilibrium.

    `field` is vector_field's (θ, ψ, v_θ, v_ψ); the view is the field's square grid.
    """
    theta, psi, v_theta, v_psi = field
    ax, ay = _arrow_segments(theta, psi, v_theta, v_psi)
    path = _thinned(_finite_rows(trajectory)).astype(np.float32)
    traces = [go.Scatter(x=ax, y=ay, mode="lines", name="field v(θ, ψ)", hoverinfo="skip",
                         line=dict(color=ARROW_GREY, width=1))]
    if len(path):
        traces.append(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", name="trajectory",
                                 line=dict(color=PATH_COLOUR, width=1.6),
                                 hovertemplate="θ %{x:.3g}, ψ %{y:.3g}<extra></extra>"))
        traces.append(go.Scatter(x=path[:1, 0], y=path[:1, 1], mode="markers", name="start",
                                 marker=dict(color=G_COLOUR, size=12,
                                             line=dict(color="white", width=1.5)),
                                 hovertemplate="start θ %{x:.3g}, ψ %{y:.3g}<extra></extra>"))
        traces.append(go.Scatter(x=path[-1:, 0], y=path[-1:, 1], mode="markers", name="end",
                                 marker=dict(color=D_COLOUR, size=9, symbol="square"),
                                 hovertemplate="end θ %{x:.3g}, ψ %{y:.3g}<extra></extra>"))
    traces.append(go.Scatter(x=[0.0], y=[0.0], mode="markers", name="equilibrium (0, 0)",
                             marker=dict(color=REAL_COLOUR, size=16, symbol="star",
                                         line=dict(color=PATH_COLOUR, width=1)),
                             hovertemplate="equilibrium<extra></extra>"))
    low, high = float(np.nanmin(theta)), float(np.nanmax(theta))
    return go.Figure(traces, _layout(
        DIRAC_HEIGHT, margin=dict(l=64, r=20, t=64, b=56),      # room for gr.Plot's label badge
        xaxis=_axis("θ: where G puts its point", G_COLOUR, range=[low, high], constrain="domain"),
        yaxis=_axis("ψ: D's slope", D_COLOUR, range=[low, high], scaleanchor="x",
                    scaleratio=1, constrain="domain")))


def distance_figure(trajectory) -> go.Figure:
    """Distance to (0, 0) against the step on a log axis: spirals out, orbits and convergence
    are a rising, a flat and a falling line."""
    points = np.asarray(trajectory, dtype=np.float64).reshape(-1, 2)
    steps = np.arange(len(points))
    dist = np.hypot(points[:, 0], points[:, 1])
    keep = np.isfinite(dist) & (dist > 0)
    rows = _thinned(np.stack([steps[keep], dist[keep]], 1)).astype(np.float32)
    traces = [go.Scatter(x=rows[:, 0], y=rows[:, 1], mode="lines", name="distance to (0, 0)",
                         line=dict(color=PATH_COLOUR, width=1.8),
                         hovertemplate="step %{x}: %{y:.3g}<extra></extra>")]
    shapes = []
    if len(rows):
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=float(rows[0, 1]),
                           y1=float(rows[0, 1]), line=dict(color=AXIS_GREY, width=1, dash="dash")))
    return go.Figure(traces, _layout(
        DISTANCE_HEIGHT, shapes=shapes, showlegend=False,
        title=dict(text="distance to the equilibrium (dashed: at the start)",
                   font=dict(size=FONT_PX)),
        xaxis=_axis("step", rangemode="tozero"),
        yaxis=_axis("√(θ² + ψ²)", type="log", exponentformat="power")))


def _eigen_trace(values: np.ndarray, name: str, symbol: str) -> go.Scatter:
    values = np.asarray(values, dtype=complex)
    return go.Scatter(x=values.real.astype(np.float32), y=values.imag.astype(np.float32),
                      mode="markers", name=name,
                      marker=dict(color=PATH_COLOUR, size=11, symbol=symbol),
                      customdata=np.abs(values).astype(np.float32),
                      hovertemplate="%{x:.6g} %{y:+.6g}i, modulus %{customdata:.6g}<extra></extra>")


def eigen_figure(eigen: dict) -> go.Figure:
    """Left: the update map's eigenvalues μ against the unit circle (inside: converges).
    Right: the continuous field's λ against the imaginary axis (left of it: converges)."""
    figure = make_subplots(1, 2, horizontal_spacing=0.14, subplot_titles=(
        "update map μ: |μ| < 1 converges", "continuous flow λ: Re λ < 0 converges"))
    mu = np.asarray(eigen.get("discrete", []), complex)
    lam = np.asarray(eigen.get("continuous", []), complex)
    angle = np.linspace(0, 2 * np.pi, 129)
    circle = np.stack([np.cos(angle), np.sin(angle)]).astype(np.float32)
    figure.add_trace(go.Scatter(x=circle[0], y=circle[1],
                                mode="lines", name="unit circle", hoverinfo="skip",
                                line=dict(color=AXIS_GREY, width=1.2, dash="dash")), 1, 1)
    figure.add_trace(_eigen_trace(mu, "μ (update map)", "circle"), 1, 1)
    figure.add_trace(_eigen_trace(lam, "λ (continuous)", "diamond"), 1, 2)
    mu_half = max(1.3, 1.15 * float(np.abs(mu).max())) if mu.size else 1.3
    lam_half = max(1.0, 1.3 * float(np.abs(lam).max())) if lam.size else 1.0
    shapes = [dict(type="circle", xref="x", yref="y", x0=-1, x1=1, y0=-1, y1=1,
                   fillcolor=STABLE_FILL, line=dict(width=0), layer="below"),
              dict(type="rect", xref="x2", yref="y2", x0=-lam_half, x1=0, y0=-lam_half,
                   y1=lam_half, fillcolor=STABLE_FILL, line=dict(width=0), layer="below"),
              dict(type="line", xref="x2", yref="y2", x0=0, x1=0, y0=-lam_half, y1=lam_half,
                   line=dict(color=AXIS_GREY, width=1.2, dash="dash"))]
    annotations = list(figure.layout.annotations)
    for annotation in annotations:
        annotation.font = dict(size=FONT_PX)
    if not mu.size:                  # WGAN-GP: (0, 0) is not a rest point, nothing to plot
        annotations += [dict(text="no Jacobian<br>at (0, 0)", x=0, y=0, xref=x, yref=y,
                             showarrow=False, font=dict(size=FONT_PX, color=AXIS_GREY))
                        for x, y in (("x", "y"), ("x2", "y2"))]
    figure.update_layout(_layout(
        EIGEN_HEIGHT, shapes=shapes, annotations=annotations, margin=dict(l=64, r=20, t=70, b=56),
        showlegend=False,
        xaxis=_axis("real part", range=[-mu_half, mu_half], constrain="domain"),
        yaxis=_axis("imaginary part", range=[-mu_half, mu_half], scaleanchor="x", scaleratio=1,
                    constrain="domain"),
        xaxis2=_axis("real part", range=[-lam_half, lam_half], constrain="domain"),
        yaxis2=_axis("imaginary part", range=[-lam_half, lam_half], scaleanchor="x2",
                     scaleratio=1, constrain="domain")))
    return figure
