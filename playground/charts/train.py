"""Plotly figures from plain data (dicts of lists, numpy arrays): curves, quality, the 2D field.

gr.Plot re-sends and re-renders the whole figure on every tick (1 Hz), so every figure here is
small on purpose: no template (plotly_white alone is ~8 KB of JSON), fixed height, float32 arrays
(plotly serialises numpy arrays as base64, 4 bytes a number), at most MAX_POINTS points per
curve and FIELD_POINTS per scatter of the field. The browser's cost matters as much as the
server's: on a 2-core machine a page redrawing 2000 SVG markers twice a second took a core from
training (bench/RESULTS.md §8). Non-finite values are dropped rather than sent: one NaN in the record must not
blank a chart, and divergence is reported in words by diagnose.py.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

MAX_POINTS = 500           # per curve: a chart is ~430 px wide; more points are invisible there
FIELD_POINTS = 300         # per scatter of the field: each marker is an SVG node the browser restyles every tick
MAX_GRID_LINES = 24        # per direction of the latent-grid overlay
CURVE_HEIGHT = 260         # px
FIELD_HEIGHT = 400         # px: with the run bar above it, fits a 720-px projector

# One scheme for every chart and the field: D is blue, G and its fakes orange, real data grey.
# So D(x) (D's verdict on real data) is drawn grey like the real points, D(G(z)) orange like
# the fakes, and a quantity of D alone (its loss, its gradient) blue.
D_COLOUR = "#3b6fb6"       # the discriminator, blue
G_COLOUR = "#e6550d"       # the generator and its samples, orange (as in pictures.py)
REAL_COLOUR = "#737373"    # real data, grey (as in pictures.py)
QUALITY_COLOURS = ("#222222", "#6a3d9a", "#b15928")   # counts, fractions, divergences: neither D nor G
EDIT_COLOUR = "#555555"    # a live edit's marker
FONT_PX = 14               # ticks and legends readable from the back of a lecture hall
ARROW_COLOUR = "#7f2704"   # a darker orange, readable on top of the orange fakes
GRID_COLOUR = "#4a4a8c"
# Diverging around D = 0.5 (PRGn): purple where D says "fake", white where it cannot tell,
# green where it says "real" -- the GAN Lab picture.
FIELD_SCALE = [[0.0, "#762a83"], [0.25, "#c2a5cf"], [0.5, "#f7f7f7"], [0.75, "#a6dba0"],
               [1.0, "#1b7837"]]


# --- shared helpers ---------------------------------------------------------------------
def _layout(height: int, **extra) -> dict:
    """The one light style: no template, small margins, legend on top, zoom kept across updates."""
    layout = dict(
        template="none", height=height, autosize=True,
        margin=dict(l=56, r=16, t=34, b=44), font=dict(size=FONT_PX),
        paper_bgcolor="white", plot_bgcolor="white",
        legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
        # A constant uirevision makes plotly.js keep the user's zoom and hidden traces when the
        # next tick's figure arrives.
        uirevision="playground",
    )
    layout.update(extra)
    return layout


def _thin(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `limit` evenly strided rows of n; the first and the latest are kept."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _float32(values) -> np.ndarray:
    """Anything array-like (None entries included) -> float32; overflow becomes inf, then dropped."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray([] if values is None else values, dtype=np.float64).astype(np.float32)


def _xy(x, y, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Finite (x, y) pairs as float32, thinned; positive=True also drops y <= 0 (log axes)."""
    x, y = _float32(x).ravel(), _float32(y).ravel()
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    keep = np.isfinite(x) & np.isfinite(y)
    if positive:
        keep &= y > 0
    x, y = x[keep], y[keep]
    index = _thin(len(x))
    return x[index], y[index]


def _points(points, limit: int = MAX_POINTS) -> np.ndarray:
    """(N, 2) finite float32 points, at most `limit`: samples are i.i.d., so a stride is fair."""
    points = _float32(points).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    return points[_thin(len(points), limit)]


def _joined(*groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of (L, n, 2) polylines -> one x and one y array with a gap after each line.

    One trace (one SVG path) instead of L traces. The gap is NaN rather than None: plotly.js
    breaks a line at NaN exactly as at None (connectgaps=False), and a float32 array travels as
    base64 and skips plotly.py's per-element validation of Python lists (~5x faster here).
    """
    parts = []
    for lines in groups:
        lines = np.asarray(lines, dtype=np.float32).copy()
        lines[~np.isfinite(lines).all(axis=-1)] = np.nan   # a non-finite point is a gap, not a crash
        gaps = np.full((len(lines), 1, 2), np.nan, np.float32)
        parts.append(np.concatenate([lines, gaps], axis=1).reshape(-1, 2))
    joined = np.concatenate(parts)
    return joined[:, 0], joined[:, 1]


def empty_figure(message: str, height: int = CURVE_HEIGHT) -> go.Figure:
    """A blank chart that says `message` in its centre (no run yet, nothing measured yet)."""
    hidden = dict(visible=False)
    return go.Figure(layout=_layout(
        height, xaxis=hidden, yaxis=hidden,
        annotations=[dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                          showarrow=False, font=dict(size=FONT_PX, color="#777"))]))


# --- training curves --------------------------------------------------------------------
def _edit_marks(edits: Sequence[Mapping]) -> tuple[list, list]:
    """A dotted vertical line at each live edit, labelled with what changed (at most 12)."""
    shapes, notes = [], []
    for edit in list(edits)[-12:]:
        step = edit.get("step")
        changed = ", ".join(f"{k} {_short(v)}" for k, v in edit.items() if k != "step")
        shapes.append(dict(type="line", xref="x", yref="paper", x0=step, x1=step, y0=0, y1=1,
                           line=dict(color=EDIT_COLOUR, width=1, dash="dot")))
        notes.append(dict(text=changed, x=step, xref="x", y=1, yref="paper", xanchor="left",
                          yanchor="top", textangle=-90, showarrow=False,
                          font=dict(size=FONT_PX - 2, color=EDIT_COLOUR)))
    return shapes, notes


def _short(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _line_figure(curves: Mapping[str, Sequence[float]], lines: Sequence[tuple[str, str, str]],
                 log_y: bool = False, edits: Sequence[Mapping] = (), height: int = CURVE_HEIGHT,
                 **layout) -> go.Figure:
    """One line per (column, label, colour) of `curves` against curves["step"], with the live
    edits marked, so cause (the edit) and effect (the curves after it) are on one picture."""
    traces = []
    for column, label, colour, *dash in lines:
        x, y = _xy(curves.get("step"), curves.get(column), positive=log_y)
        traces.append(go.Scatter(x=x, y=y, name=label, mode="lines",
                                 line=dict(color=colour, width=2, dash=dash[0] if dash else None),
                                 hovertemplate=f"{label}: %{{y:.3g}}<extra></extra>"))
    y_axis = layout.pop("yaxis", {})
    if log_y:    # one label a decade: minor labels (2, 5) crowd a small chart
        y_axis = dict(y_axis, type="log", exponentformat="power", dtick=1)
    shapes, notes = _edit_marks(edits)
    layout["shapes"] = layout.get("shapes", []) + shapes
    layout["annotations"] = layout.get("annotations", []) + notes
    return go.Figure(traces, _layout(height, hovermode="x unified",
                                     xaxis=dict(title="step"), yaxis=y_axis, **layout))


def loss_figure(curves: Mapping[str, Sequence[float]], edits: Sequence[Mapping] = ()) -> go.Figure:
    """D and G loss against the training step."""
    return _line_figure(curves, [("d_loss", "D loss", D_COLOUR), ("g_loss", "G loss", G_COLOUR)],
                        edits=edits, yaxis=dict(title="loss"))


def prob_figure(curves: Mapping[str, Sequence[float]], edits: Sequence[Mapping] = (),
                critic: bool = False) -> go.Figure:
    """Mean D(x) and D(G(z)) against the step, with the 0.5 line where D cannot tell them apart.

    For a critic (critic=True) D's outputs are scores, not probabilities: the chart shows
    E[D(x)], E[D(G(z))] and their gap, the critic's estimate of the Wasserstein distance."""
    if critic:
        steps = curves.get("step", [])
        gap = [r - f for r, f in zip(curves.get("score_real", []), curves.get("score_fake", []))]
        return _line_figure({"step": steps, "score_real": curves.get("score_real", []),
                             "score_fake": curves.get("score_fake", []), "gap": gap},
                            [("score_real", "E[D(x)] real", REAL_COLOUR),
                             ("score_fake", "E[D(G(z))] fake", G_COLOUR),
                             ("gap", "gap (Wasserstein estimate)", D_COLOUR, "dash")],
                            edits=edits, height=FIELD_HEIGHT, yaxis=dict(title="critic score"))
    # The 0.5 line is a legend entry, not a label on the plot: a label there sits on the curves.
    x, _ = _xy(curves.get("step"), curves.get("d_real"))
    tie = [(float(x[0]), float(x[-1]))] if len(x) else [(0.0, 1.0)]
    figure = _line_figure(curves, [("d_real", "D(x) real", REAL_COLOUR),
                                   ("d_fake", "D(G(z)) fake", G_COLOUR)],
                          edits=edits, height=FIELD_HEIGHT,
                          yaxis=dict(title="D output", range=[-0.02, 1.02]))
    figure.add_trace(go.Scatter(x=list(tie[0]), y=[0.5, 0.5], mode="lines", name="0.5: D can't tell",
                                line=dict(color="#999", width=1, dash="dash"), hoverinfo="skip"))
    return figure


def grad_figure(curves: Mapping[str, Sequence[float]], edits: Sequence[Mapping] = ()) -> go.Figure:
    """Gradient norms of D and G on a log axis (vanishing gradients span decades)."""
    return _line_figure(curves, [("grad_norm_d", "D grad norm", D_COLOUR),
                                 ("grad_norm_g", "G grad norm", G_COLOUR)],
                        log_y=True, edits=edits, yaxis=dict(title="gradient norm"))


# --- quality ----------------------------------------------------------------------------
# (key, label, colour, is_count). Counts (modes, classes) go on the left axis; scores
# (fractions, divergences) on the right one -- or on the left when there is no count.
QUALITY_SERIES = [
    ("modes_covered", "modes covered", QUALITY_COLOURS[0], True),
    ("classes_covered", "digit classes covered", QUALITY_COLOURS[0], True),
    ("high_quality", "high-quality fraction", QUALITY_COLOURS[1], False),
    ("confident", "confident fraction", QUALITY_COLOURS[1], False),
    ("js", "JS divergence", QUALITY_COLOURS[2], False),
]   # (The Fréchet distance, 0 to hundreds, would flatten the fractions: it is in metrics.csv.)


def quality_figure(evals: Sequence[Mapping[str, float]]) -> go.Figure:
    """The quality metrics present in the evaluation rows, against the step."""
    steps = [row.get("step") for row in evals]
    series = [(s, _xy(steps, [row.get(s[0]) for row in evals])) for s in QUALITY_SERIES]
    series = [(s, xy) for s, xy in series if xy[0].size]     # plot only what was measured
    if not series:
        return empty_figure("quality is measured every few hundred steps")
    has_count = any(is_count for (*_, is_count), _ in series)
    has_score = any(not is_count for (*_, is_count), _ in series)
    traces = [go.Scatter(x=x, y=y, name=label, mode="lines+markers",
                         yaxis="y2" if has_count and not is_count else "y",
                         line=dict(color=colour, width=1.5), marker=dict(size=5),
                         hovertemplate=f"{label}: %{{y:.3g}}<extra></extra>")
              for (key, label, colour, is_count), (x, y) in series]
    # rangemode="tozero": with one evaluation (at step 0) plotly would otherwise centre it in -1..1.
    layout = _layout(CURVE_HEIGHT, hovermode="x unified", xaxis=dict(title="step", rangemode="tozero"),
                     yaxis=dict(title="covered" if has_count else "score", rangemode="tozero"))
    # A count axis from 0 to the total makes "3 of 8" visible at a glance.
    totals = _float32([row.get("modes_total") for row in evals])
    totals = totals[np.isfinite(totals) & (totals > 0)]
    plotted = {key for (key, *_), _ in series}
    total = (float(totals.max()) if "modes_covered" in plotted and totals.size
             else 10.0 if "classes_covered" in plotted else None)           # ten digit classes
    if total:
        layout["yaxis"]["range"] = [0, total * 1.08]
    if has_count and has_score:
        layout["yaxis2"] = dict(title="score", overlaying="y", side="right", rangemode="tozero",
                                showgrid=False)
        layout["margin"]["r"] = 52
    return go.Figure(traces, layout)


# --- the 2D field -----------------------------------------------------------------------
def _arrow_lines(arrows: np.ndarray) -> np.ndarray:
    """(K, 4) rows x, y, dx, dy -> (K, 5, 2) polylines tail, tip, barb, tip, barb (25 % long, ±25°)."""
    tail, delta = arrows[:, :2], arrows[:, 2:]
    tip = tail + delta
    angle = math.radians(25)
    c, s = math.cos(angle), math.sin(angle)
    back = -0.25 * delta
    left = tip + back @ np.array([[c, s], [-s, c]], np.float32)      # back rotated by +25°
    right = tip + back @ np.array([[c, -s], [s, c]], np.float32)     # and by -25°
    return np.stack([tail, tip, left, tip, right], axis=1)


def _grid_lines(manifold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, k, 2) image of a latent grid -> its rows and its columns, (L, n, 2) each, thinned alike."""
    step = max(1, math.ceil(max(manifold.shape[:2]) / MAX_GRID_LINES))
    grid = manifold[::step, ::step]
    return grid, grid.transpose(1, 0, 2)


def field_figure(real: np.ndarray, fake: np.ndarray, field: Mapping | None = None,
                 manifold: np.ndarray | None = None) -> go.Figure:
    """GAN Lab view of 2D data: D's probability as a heatmap, real and fake points,
    G's gradient arrows on some fakes, and the image of a latent grid when z is 2D."""
    real, fake, field = _points(real, FIELD_POINTS), _points(fake, FIELD_POINTS), field or {}
    traces = []
    xs, ys, d = _float32(field.get("xs")).ravel(), _float32(field.get("ys")).ravel(), _float32(field.get("d"))
    has_heat = xs.size > 0 and ys.size > 0 and d.shape == (ys.size, xs.size)
    if has_heat:
        z = np.round(np.clip(d, 0.0, 1.0), 3).astype(np.float32)   # NaN cells stay gaps
        traces.append(go.Heatmap(
            x=xs, y=ys, z=z, zmin=0, zmax=1, colorscale=FIELD_SCALE, opacity=0.45, name="D(x)",
            zsmooth="fast",   # the browser scales a 40x40 image; "best" interpolates in JS
            colorbar=dict(thickness=8, len=0.6, tickvals=[0, 0.5, 1],
                          ticktext=(["low", "", "high"] if field.get("critic")
                                    else ["fake", "0.5", "real"]),
                          title=dict(text="critic" if field.get("critic") else "D")),
            hovertemplate="D(%{x:.2f}, %{y:.2f}) = %{z:.2f}<extra></extra>"))
    # The view: the field's grid, or a square around the data when there is no field.
    if has_heat:
        x_range = [float(xs.min()), float(xs.max())]
        y_range = [float(ys.min()), float(ys.max())]
    else:
        both = np.concatenate([real, fake])
        if not len(both):
            both = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)   # nothing yet: a unit view
        centre = (both.min(axis=0) + both.max(axis=0)) / 2
        half = max(float((both.max(axis=0) - both.min(axis=0)).max()) / 2 * 1.1, 1e-3)
        x_range = [float(centre[0]) - half, float(centre[0]) + half]
        y_range = [float(centre[1]) - half, float(centre[1]) + half]

    for points, label, colour in ((real, "real data", REAL_COLOUR), (fake, "generated", G_COLOUR)):
        traces.append(go.Scatter(x=points[:, 0], y=points[:, 1], name=label, mode="markers",
                                 marker=dict(color=colour, size=4, opacity=0.7), hoverinfo="skip"))
    arrows = _float32(field.get("arrows")).reshape(-1, 4)
    arrows = arrows[np.isfinite(arrows).all(axis=1)][:MAX_POINTS]
    if len(arrows):
        ax, ay = _joined(_arrow_lines(arrows))
        traces.append(go.Scatter(x=ax, y=ay, name="G's gradient", mode="lines",
                                 line=dict(color=ARROW_COLOUR, width=1.2), hoverinfo="skip"))
    if manifold is not None:
        grid = _float32(manifold)
        if grid.ndim == 3 and grid.shape[2] == 2 and grid.size:
            gx, gy = _joined(*_grid_lines(grid))
            traces.append(go.Scatter(x=gx, y=gy, name="latent grid", mode="lines",
                                     line=dict(color=GRID_COLOUR, width=0.7), opacity=0.5,
                                     hoverinfo="skip"))
    # Equal aspect: a circle of data must look like a circle. constrain="domain" shrinks the
    # plot area instead of widening the range, so the view stays the field's grid.
    axis = dict(showgrid=False, zeroline=False, constrain="domain")
    return go.Figure(traces, _layout(
        FIELD_HEIGHT, hovermode="closest",
        xaxis=dict(axis, range=x_range),
        yaxis=dict(axis, range=y_range, scaleanchor="x", scaleratio=1)))
