"""The Latent space tab's figure: a walk through latent space drawn over the real data."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .train import FIELD_HEIGHT, G_COLOUR, REAL_COLOUR


def path_figure(real: np.ndarray | None, path: np.ndarray, line: bool = True) -> go.Figure:
    """Real data in grey, the generated path (or one point) in orange, start and end marked."""
    traces = []
    if real is not None:
        traces.append(go.Scatter(x=real[:, 0], y=real[:, 1], mode="markers", name="real data",
                                 marker=dict(color=REAL_COLOUR, size=4, opacity=0.5),
                                 hoverinfo="skip"))
    traces.append(go.Scatter(x=path[:, 0], y=path[:, 1], name="generated",
                             mode="lines+markers" if line else "markers",
                             line=dict(color=G_COLOUR, width=2),
                             marker=dict(color=G_COLOUR, size=7 if line else 12)))
    if line:
        traces.append(go.Scatter(x=path[[0, -1], 0], y=path[[0, -1], 1], mode="text",
                                 text=["A", "B"], textposition="top center", showlegend=False))
    return go.Figure(traces, dict(
        template="none", height=FIELD_HEIGHT, margin=dict(l=40, r=16, t=30, b=30),
        legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
        xaxis=dict(showgrid=False, zeroline=False),
        yaxis=dict(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)))
