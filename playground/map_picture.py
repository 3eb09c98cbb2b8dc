"""The stability map as a picture (PIL only): one square per cell, coloured by its outcome.

Columns are the x values, rows the y values (growing upwards), one vertical stripe per seed of
a cell, a legend on the right, and in each square its headline figure ("7/8" modes). Cells not
trained yet are light grey, so the same function draws a map that is still filling in (the
app's Stability map tab) and a finished one (the CLI's map.png). `cell_at` turns a pixel of the
picture back into the run drawn there, which is how a click on the page finds its cell.

    picture = map_picture(rows, base=preset.config.to_dict())
    row = cell_at(rows, x_pixel, y_pixel)        # the run under that pixel, or None
"""
from __future__ import annotations

from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from .outcomes import OUTCOMES, figure_text

CELL, MARGIN, TOP, LEGEND = 60, 84, 34, 210    # pixels: cell side, left margin, title, legend width
BOTTOM = 54                                     # pixels under the squares: x values and the x key
LEGEND_ROW = 22
FONT_PX = 14
PENDING = "pending"                             # the outcome of a run not trained yet
PENDING_COLOUR = (236, 236, 236)


def _font(size: int = FONT_PX):
    try:
        return ImageFont.load_default(size=size)    # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, AttributeError):
        return ImageFont.load_default()


def _shape(rows: Sequence[dict]) -> tuple[dict, dict, int]:
    """{col: x value}, {row: y value} and the seeds per cell of a sweep's rows."""
    xs = {r["col"]: r["x"] for r in rows}
    ys = {r["row"]: r["y"] for r in rows}
    return xs, ys, max(r["replicate"] for r in rows) + 1


def _top(row: int, n_rows: int) -> int:
    return TOP + CELL * (n_rows - 1 - row)


def cell_at(rows: Sequence[dict], x: float, y: float) -> dict | None:
    """The row (one run) drawn at pixel (x, y) of map_picture(rows), or None (margin, legend)."""
    if not rows:
        return None
    xs, ys, seeds = _shape(rows)
    col = int((x - MARGIN) // CELL)
    from_top = int((y - TOP) // CELL)
    if x < MARGIN or y < TOP or not (0 <= col < len(xs)) or not (0 <= from_top < len(ys)):
        return None
    row = len(ys) - 1 - from_top
    replicate = min(seeds - 1, int((x - MARGIN - CELL * col) * seeds // CELL))
    return next((r for r in rows if (r["row"], r["col"], r["replicate"]) == (row, col, replicate)), None)


def map_picture(rows: Sequence[dict], base: dict | None = None) -> Image.Image:
    """The map: columns = x values, rows = y values (growing upwards), one stripe per seed,
    coloured by outcome (PENDING: not trained yet); the cell holding the preset's own values
    is outlined."""
    xs, ys, seeds = _shape(rows)
    legend_bottom = TOP + LEGEND_ROW * (len(OUTCOMES) + 3)
    width = MARGIN + CELL * len(xs) + LEGEND
    height = max(TOP + CELL * len(ys) + BOTTOM, legend_bottom)
    picture = Image.new("RGB", (width, height), "white")
    draw, font, small = ImageDraw.Draw(picture), _font(), _font(FONT_PX - 2)
    for r in rows:
        left = MARGIN + CELL * r["col"] + CELL * r["replicate"] // seeds
        right = MARGIN + CELL * r["col"] + CELL * (r["replicate"] + 1) // seeds
        top = _top(r["row"], len(ys))
        colour = OUTCOMES.get(r["outcome"], PENDING_COLOUR)
        draw.rectangle((left, top, right - 1, top + CELL - 1), fill=colour)
        text = figure_text(r) if seeds == 1 and r["outcome"] != PENDING else ""
        if text:
            ink = "white" if sum(colour) < 3 * 140 else "black"
            draw.text((left + CELL // 2, top + CELL // 2), text, fill=ink, font=small, anchor="mm")
    _grid(draw, len(xs), len(ys))
    x_key, y_key = rows[0]["x_key"], rows[0]["y_key"]
    if base:
        own = [(r["row"], r["col"]) for r in rows if r["x"] == base.get(x_key) and r["y"] == base.get(y_key)]
        for row, col in own[:1]:
            left, top = MARGIN + CELL * col, _top(row, len(ys))
            draw.rectangle((left, top, left + CELL - 1, top + CELL - 1), outline="black", width=3)
    for col, value in sorted(xs.items()):
        draw.text((MARGIN + CELL * col + CELL // 2, TOP + CELL * len(ys) + 6), f"{value:g}",
                  fill="black", font=small, anchor="ma")
    for row, value in sorted(ys.items()):
        draw.text((MARGIN - 6, _top(row, len(ys)) + CELL // 2), f"{value:g}", fill="black",
                  font=small, anchor="rm")
    draw.text((MARGIN + CELL * len(xs) // 2, TOP + CELL * len(ys) + 28), f"x: {x_key}", fill="black",
              font=font, anchor="ma")
    draw.text((6, 8), f"y: {y_key}   ({seeds} seed{'s' if seeds > 1 else ''} per cell"
              f"{', one stripe each' if seeds > 1 else ''})", fill="black", font=font)
    _legend(draw, MARGIN + CELL * len(xs) + 14, font, base is not None and bool(base),
            any(r["outcome"] == PENDING for r in rows))
    return picture


def _grid(draw: ImageDraw.ImageDraw, n_cols: int, n_rows: int) -> None:
    for col in range(n_cols + 1):
        draw.line((MARGIN + CELL * col, TOP, MARGIN + CELL * col, TOP + CELL * n_rows), fill="white", width=2)
    for row in range(n_rows + 1):
        draw.line((MARGIN, TOP + CELL * row, MARGIN + CELL * n_cols, TOP + CELL * row), fill="white", width=2)


def _legend(draw: ImageDraw.ImageDraw, left: int, font, outlined: bool, pending: bool) -> None:
    """One swatch per outcome; then the outline of the preset's cell and "not trained yet"."""
    entries = [(name.replace("_", " "), dict(fill=colour)) for name, colour in OUTCOMES.items()]
    if pending:
        entries.append(("not trained yet", dict(fill=PENDING_COLOUR)))
    if outlined:
        entries.append(("the preset's values", dict(outline="black", width=3)))
    for index, (text, style) in enumerate(entries):
        y = TOP + 4 + LEGEND_ROW * index
        draw.rectangle((left, y, left + 15, y + 15), **style)
        draw.text((left + 22, y + 8), text, fill="black", font=font, anchor="lm")
