"""The "Explain one step" pictures: one per phase of playground.explain.explain_step.

Points: phase_figure draws the Train tab's field (charts.train.field_figure, its colours), plus
what the phase is about: the real batch over the real data; D's 0.5 line before and after its
update; the fakes before and after G's update, with the arrows that moved them. The view is the
same square in every phase (and a constant uirevision keeps the visitor's zoom), so flipping
from one phase to the next changes only what the step changed.
Images: phase_image is a PIL picture (pictures.image_grid): a row of real and a row of fake
images, or the fakes before and after G's update, each with D's score under it as a number and
as a colour of the field's scale (purple "fake", white "can't tell", green "real").

Numbers in, a figure out: a phase is plain numpy, and nothing here sees a Trainer.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from ..pictures import image_grid
from .train import D_COLOUR, FIELD_POINTS, FIELD_SCALE, G_COLOUR, REAL_COLOUR, field_figure

if TYPE_CHECKING:                      # explain.py imports torch; a chart needs only its arrays
    from ..explain import Phase

BATCH_EDGE = "#252525"     # outline of the real batch's markers, to tell them from the real data
CELL_MIN = 56              # px: images are upscaled to at least this, to read them and their score
LABEL_WIDTH = 104          # px: the row's name on the left
SCORE_HEIGHT = 26          # px under each row: a colour bar and the score (+13 for a second line)
ROW_GAP = 8                # px between rows


# --- points -------------------------------------------------------------------------------
def phase_figure(phase: Phase, real_background: np.ndarray | None, extent: float) -> go.Figure:
    """The field figure of one phase of 2D data, over [-extent, extent]^2."""
    arrays = phase.arrays
    moved = "fake_after" in arrays
    field = {key: arrays[key] for key in ("xs", "ys", "d", "arrows") if key in arrays}
    background = np.empty((0, 2), np.float32) if real_background is None else real_background
    # The first FIELD_POINTS rows (a batch is i.i.d.): the same fakes before and after G's step.
    figure = field_figure(background, _first(arrays["fake"]), field)
    figure.update_traces(selector=dict(name="real data"), marker=dict(size=3, opacity=0.3))
    figure.update_traces(selector=dict(name="generated"),
                         name="fakes before G's step" if moved else "fake batch",
                         marker=dict(size=6, opacity=0.35 if moved else 0.9))
    real = _first(arrays["real"])
    traces = [go.Scatter(x=real[:, 0], y=real[:, 1], name="real batch", mode="markers",
                         marker=dict(color=REAL_COLOUR, size=7, line=dict(color=BATCH_EDGE, width=1)),
                         hoverinfo="skip")]
    if "d_before" in arrays:
        traces += [_boundary(arrays, "d_before", "D = 0.5 before", "dash"),
                   _boundary(arrays, "d", "D = 0.5 after", "solid")]
    if moved:
        after = _first(arrays["fake_after"])
        traces.append(go.Scatter(x=after[:, 0], y=after[:, 1], name="fakes after G's step",
                                 mode="markers", marker=dict(color=G_COLOUR, size=6, opacity=0.95),
                                 hoverinfo="skip"))
    figure.add_traces(traces)
    half = float(extent)
    figure.update_layout(xaxis_range=[-half, half], yaxis_range=[-half, half])
    return figure


def _first(points) -> np.ndarray:
    """The first FIELD_POINTS rows as finite-or-NaN float32 (N, 2)."""
    return np.asarray(points, np.float32).reshape(-1, 2)[:FIELD_POINTS]


def _boundary(arrays: dict, key: str, name: str, dash: str) -> go.Contour:
    """The line where the heatmap arrays[key] crosses 0.5: where D cannot tell real from fake."""
    return go.Contour(x=arrays["xs"], y=arrays["ys"], z=np.asarray(arrays[key], np.float32),
                      autocontour=False, contours=dict(start=0.5, end=0.5, size=1, coloring="lines"),
                      # coloring="lines" colours a line from the colorscale, not from line.color
                      colorscale=[[0.0, D_COLOUR], [1.0, D_COLOUR]],
                      line=dict(color=D_COLOUR, width=2, dash=dash), showscale=False,
                      name=name, showlegend=True, hoverinfo="skip")


# --- images -------------------------------------------------------------------------------
def phase_image(phase: Phase) -> Image.Image:
    """The phase's images in labelled rows, each image with D's score under it."""
    rows = [_row(label, images, scores, new) for label, images, scores, new in _rows(phase.arrays)]
    width = max(row.width for row in rows)
    picture = Image.new("RGB", (width, sum(row.height for row in rows) + ROW_GAP * (len(rows) - 1)),
                        "white")
    top = 0
    for row in rows:
        picture.paste(row, (0, top))
        top += row.height + ROW_GAP
    return picture


def _rows(arrays: dict) -> list[tuple]:
    """(label, images (n, C, H, W), scores (B,), scores after or None) per row of the phase."""
    if "fake_after" in arrays:                                     # G's update
        return [("fakes before", arrays["fake"], arrays["d_fake"], None),
                ("fakes after", arrays["fake_after"], arrays["d_fake_after"], None)]
    if "d_real_before" in arrays:                                  # D's update
        return [("real", arrays["real"], arrays["d_real_before"], arrays["d_real"]),
                ("fake", arrays["fake"], arrays["d_fake_before"], arrays["d_fake"])]
    return [("real", arrays["real"], arrays["d_real"], None),      # the batch
            ("fake", arrays["fake"], arrays["d_fake"], None)]


def _row(label: str, images: np.ndarray, scores: np.ndarray, new: np.ndarray | None) -> Image.Image:
    """One labelled row of images with a colour bar and the score (or "was / now") under each."""
    images = np.asarray(images, np.float32)
    count, _, height, width = images.shape
    scale = max(1, math.ceil(CELL_MIN / min(height, width)))
    grid = image_grid(images, columns=count, scale=scale).convert("RGB")
    under = SCORE_HEIGHT if new is None else SCORE_HEIGHT + 13
    row = Image.new("RGB", (LABEL_WIDTH + grid.width, grid.height + under), "white")
    row.paste(grid, (LABEL_WIDTH, 0))
    draw, font = ImageDraw.Draw(row), ImageFont.load_default(size=11)
    draw.text((6, grid.height // 2), label, fill="#333333", font=font, anchor="lm")
    for index in range(count):
        left = LABEL_WIDTH + (1 + index * (width + 1)) * scale
        right, centre = left + width * scale, left + width * scale // 2
        latest = scores[index] if new is None else new[index]
        draw.rectangle((left, grid.height + 1, right - 1, grid.height + 7), fill=_score_colour(latest),
                       outline="#d9d9d9")
        if new is None:
            draw.text((centre, grid.height + 10), _score_text(scores[index]), fill="#333333",
                      font=font, anchor="mt")
        else:                          # two lines: "was 0.48" in grey, "now 0.52" in black
            draw.text((centre, grid.height + 10), "was " + _score_text(scores[index]),
                      fill="#888888", font=font, anchor="mt")
            draw.text((centre, grid.height + 23), "now " + _score_text(new[index]),
                      fill="#222222", font=font, anchor="mt")
    return row


def _score_text(score: float) -> str:
    return f"{score:.2f}" if math.isfinite(score) else "?"


def _score_colour(score: float) -> tuple[int, int, int]:
    """D's score in [0, 1] as a colour of FIELD_SCALE (linear between its stops); grey if unknown."""
    if not math.isfinite(score):
        return (200, 200, 200)
    score = min(max(float(score), 0.0), 1.0)
    for (low, low_hex), (high, high_hex) in zip(FIELD_SCALE, FIELD_SCALE[1:]):
        if score <= high:
            share = (score - low) / (high - low)
            a, b = _rgb(low_hex), _rgb(high_hex)
            return tuple(round(x + (y - x) * share) for x, y in zip(a, b))
    return _rgb(FIELD_SCALE[-1][1])


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
