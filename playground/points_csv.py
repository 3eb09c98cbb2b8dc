"""A visitor's own 2D points: a CSV of x, y (uploaded, or drawn on the page's canvas).

    points = read_points(path)        # (N, 2) float32 in the playground's range, or DataError
    write_points(path, points)        # a drawing becomes a CSV like any upload

The bytes come from strangers, so everything is checked before a number is used: at most
MAX_BYTES of text, at most MAX_ROWS rows, exactly two columns (an optional header line of
names), numbers only, all finite, at least MIN_POINTS of them. The points are then centred and
scaled so that the farthest lies at RANGE from the origin: the scale of the built-in toy sets
(the ring's radius is 2), so the same networks, learning rates and views fit.
Messages say what is wrong in words, with a row number, never a server path.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .ingest import DataError

MAX_BYTES = 8 * 2**20
MAX_ROWS = 100_000
MIN_POINTS = 10
RANGE = 2.0


def read_points(path: str | Path) -> np.ndarray:
    """The points of a CSV file (x, y per row), checked and rescaled; DataError in words."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"the points file {path.name!r} is not there (upload it again)")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path.name!r} is larger than {MAX_BYTES >> 20} MB: at most "
                        f"{MAX_ROWS:,} rows of x, y are allowed")
    text = path.read_bytes().decode("utf-8", errors="replace")
    return parse_points(text, path.name)


def parse_points(text: str, name: str = "the file") -> np.ndarray:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and not _numeric(rows[0][0]) and not _numeric(rows[0][-1]):
        rows = rows[1:]                                   # a header line of column names
    if len(rows) > MAX_ROWS:
        raise DataError(f"{name} has {len(rows):,} rows; at most {MAX_ROWS:,} points are allowed")
    if len(rows) < MIN_POINTS:
        raise DataError(f"{name} has {len(rows)} points; at least {MIN_POINTS} are needed")
    points = np.empty((len(rows), 2), np.float64)
    for index, row in enumerate(rows):
        if len(row) != 2:
            raise DataError(f"{name}, row {index + 1}: {len(row)} column(s); each row needs "
                            "exactly two numbers, x and y")
        for column, cell in enumerate(row):
            points[index, column] = _number(cell, name, index + 1)
    return rescale(points)


def rescale(points: np.ndarray) -> np.ndarray:
    """Centred on the origin, the farthest point at RANGE (a single point stays at the origin)."""
    centred = points - points.mean(axis=0)
    farthest = float(np.sqrt((centred ** 2).sum(axis=1)).max())
    scale = RANGE / farthest if farthest > 0 else 1.0
    return (centred * scale).astype(np.float32)


def write_points(path: str | Path, points: np.ndarray) -> Path:
    """Points as a CSV with an x,y header (what read_points reads back)."""
    path = Path(path)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y"])
        writer.writerows((f"{x:.6g}", f"{y:.6g}") for x, y in np.asarray(points, np.float64))
    return path


def points_from_drawing(pixels: np.ndarray, most: int = 4000) -> np.ndarray:
    """The drawn strokes of a canvas image (H, W[, C]) as points: every clearly dark or opaque
    pixel is a point, y pointing up; at most `most`, evenly strided."""
    image = np.asarray(pixels, np.float32)
    if image.ndim == 3 and image.shape[2] == 4:          # RGBA: strokes are the opaque pixels
        ink = image[..., 3] > 127
    else:
        grey = image.mean(axis=2) if image.ndim == 3 else image
        ink = grey < 128
    rows, cols = np.nonzero(ink)
    if len(rows) < MIN_POINTS:
        raise DataError(f"the drawing has too little ink: draw at least a few strokes "
                        f"({len(rows)} pixels drawn)")
    points = np.stack([cols, -rows], axis=1).astype(np.float64)
    points = points[np.linspace(0, len(points) - 1, min(most, len(points))).astype(int)]
    return rescale(points)


def _numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _number(cell: str, name: str, row: int) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise DataError(f"{name}, row {row}: {cell.strip()[:30]!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{name}, row {row}: {cell.strip()} is not a finite number")
    return value
