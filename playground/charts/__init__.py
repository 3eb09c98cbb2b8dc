"""Plotly figures from plain data, one module per view: `train` (curves, quality, the 2D field),
`latent` (a walk over the real data), `dirac` (the two-parameter Dirac-GAN game).

Figures never see a Trainer, a Session or Gradio: numbers in, a go.Figure out. The colours and
sizes below are shared by every view so that D, G, real data and fakes look the same everywhere.
"""
from .train import (CURVE_HEIGHT, D_COLOUR, FIELD_HEIGHT, FIELD_POINTS, G_COLOUR, MAX_GRID_LINES,
                    MAX_POINTS, REAL_COLOUR, empty_figure, field_figure, grad_figure, loss_figure,
                    prob_figure, quality_figure)
from .latent import path_figure

__all__ = ["CURVE_HEIGHT", "D_COLOUR", "FIELD_HEIGHT", "FIELD_POINTS", "G_COLOUR", "MAX_GRID_LINES",
           "MAX_POINTS", "REAL_COLOUR", "empty_figure", "field_figure", "grad_figure", "loss_figure",
           "prob_figure", "quality_figure", "path_figure"]
