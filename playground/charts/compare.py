"""Plotly figures of a comparison: the curves of run A (solid) and run B (dashed) on one chart.

The Compare tab trains two runs side by side; overlaying their curves is what makes the
difference visible (the minimax generator's gradient four decades below the non-saturating
one's, on the same log axis). Colours are the Train tab's (charts/train.py): D blue, G orange,
real data grey; the line style tells the runs apart, and each trace is named "A: ..." or
"B: ...", so the legend reads without a key. Sizes and thinning as in train.py: at most
MAX_POINTS points a curve, non-finite values dropped.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import plotly.graph_objects as go

# The one chart style of the package, and its finite-and-thinned (x, y) helper.
from .train import (CURVE_HEIGHT, D_COLOUR, G_COLOUR, QUALITY_COLOURS, REAL_COLOUR, _layout, _xy,
                    empty_figure)

DASHES = (None, "dash")                 # A solid, B dashed
SIDE_NAMES = ("A", "B")
Curves = Mapping[str, Sequence[float]]


def overlay_figure(curves: Sequence[Curves], lines: Sequence[tuple[str, str, str]],
                   log_y: bool = False, yaxis: dict | None = None) -> go.Figure:
    """One line per (column, label, colour) and per run: A's solid, B's dashed, both against
    their own "step" column (a run that diverged stops earlier than the other)."""
    traces = []
    for side, (name, dash) in enumerate(zip(SIDE_NAMES, DASHES)):
        columns = curves[side] if side < len(curves) else {}
        for column, label, colour in lines:
            x, y = _xy(columns.get("step"), columns.get(column), positive=log_y)
            traces.append(go.Scatter(x=x, y=y, name=f"{name}: {label}", mode="lines",
                                     line=dict(color=colour, width=2, dash=dash),
                                     hovertemplate=f"{name}: {label} %{{y:.3g}}<extra></extra>"))
    axis = dict(yaxis or {})
    if log_y:
        axis.update(type="log", exponentformat="power")
    return go.Figure(traces, _layout(CURVE_HEIGHT, hovermode="x unified", xaxis=dict(title="step"),
                                     yaxis=axis))


def grad_figure(curves: Sequence[Curves]) -> go.Figure:
    """Gradient norms of D and G for A and B on a log axis: two series per run."""
    return overlay_figure(curves, [("grad_norm_d", "D grad norm", D_COLOUR),
                                   ("grad_norm_g", "G grad norm", G_COLOUR)],
                          log_y=True, yaxis=dict(title="gradient norm"))


def prob_figure(curves: Sequence[Curves]) -> go.Figure:
    """Mean D(x) and D(G(z)) of A and B (for a critic: sigmoids of its scores)."""
    return overlay_figure(curves, [("d_real", "D(x) real", REAL_COLOUR),
                                   ("d_fake", "D(G(z)) fake", G_COLOUR)],
                          yaxis=dict(title="D output", range=[-0.02, 1.02]))


def loss_figure(curves: Sequence[Curves]) -> go.Figure:
    """D and G losses of A and B."""
    return overlay_figure(curves, [("d_loss", "D loss", D_COLOUR), ("g_loss", "G loss", G_COLOUR)],
                          yaxis=dict(title="loss"))


QUALITY_KEYS = (("modes_covered", "modes covered"), ("classes_covered", "digit classes covered"),
                ("js", "JS divergence"))


def quality_figure(evals: Sequence[Sequence[Mapping[str, float]]]) -> go.Figure:
    """The first quality measure both runs have (modes covered, digit classes, JS) over steps."""
    rows = [list(side) for side in evals] + [[], []]
    key = next((k for k, _ in QUALITY_KEYS if any(r.get(k) is not None for side in rows for r in side)), None)
    if key is None:
        return empty_figure("quality is measured every few hundred steps")
    label = dict(QUALITY_KEYS)[key]
    curves = [{"step": [r.get("step") for r in side], key: [r.get(key) for r in side]} for side in rows[:2]]
    figure = overlay_figure(curves, [(key, label, QUALITY_COLOURS[0])],
                            yaxis=dict(title=label, rangemode="tozero"))
    figure.update_traces(mode="lines+markers", marker=dict(size=6))
    totals = [r.get("modes_total") for side in rows for r in side if r.get("modes_total")]
    if key == "modes_covered" and totals:
        figure.update_yaxes(range=[0, max(totals) * 1.08])
    return figure


__all__ = ["empty_figure", "grad_figure", "loss_figure", "overlay_figure", "prob_figure", "quality_figure"]
