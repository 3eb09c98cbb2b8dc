"""Pictures from arrays with PIL alone: image grids and point scatters.

Used where a static picture is wanted (the CLI's samples.png, the UI's sample grid, GIF frames).
No plotly, no matplotlib: they are slow to import and the core stays light.
"""
from __future__ import annotations

import base64
import io
import math

import numpy as np
from PIL import Image, ImageDraw

REAL_COLOUR = (150, 150, 150)
FAKE_COLOUR = (230, 110, 20)


def image_grid(images, columns: int | None = None, scale: int = 1) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> one PIL image, `columns` per row (default: square), upscaled.

    A 1-pixel white border separates the cells, as torchvision's make_grid does; written in
    numpy because importing torchvision costs ~2 s of every start.
    """
    batch = np.nan_to_num(np.asarray(images, dtype=np.float32), nan=0.0).clip(-1, 1)
    count, channels, height, width = batch.shape
    columns = columns or max(1, int(math.ceil(math.sqrt(count))))
    rows = max(1, int(math.ceil(count / columns)))
    grid = np.ones((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), np.float32)
    for index in range(count):
        top, left = 1 + (index // columns) * (height + 1), 1 + (index % columns) * (width + 1)
        grid[top:top + height, left:left + width] = (batch[index].transpose(1, 2, 0) + 1) / 2
    array = (grid * 255).round().astype(np.uint8)
    picture = Image.fromarray(array[..., 0] if channels == 1 else array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def png_data_uri(picture: Image.Image) -> str:
    """A picture as a `data:image/png;base64,...` URI: shown by a page without writing a file."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def scatter(fake: np.ndarray, real: np.ndarray | None = None, size: int = 480,
            extent: float | None = None) -> Image.Image:
    """Fake points (orange) over real points (grey) in a square picture centred on the origin."""
    fake = np.asarray(fake, dtype=np.float32)
    fake = fake[np.isfinite(fake).all(axis=1)]
    both = fake if real is None else np.concatenate([fake, np.asarray(real, np.float32)])
    if extent is None:
        extent = float(np.abs(both).max()) * 1.1 if len(both) else 1.0
        extent = max(extent, 1e-3)
    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)

    def to_pixels(points: np.ndarray) -> np.ndarray:
        return (points / extent * 0.5 + 0.5) * (size - 1) * np.array([1, -1]) + np.array([0, size - 1])

    for points, colour in ((real, REAL_COLOUR), (fake, FAKE_COLOUR)):
        if points is None:
            continue
        for x, y in to_pixels(np.asarray(points, np.float32)):
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
    return picture
