"""Film: a run's history of pictures in bounded memory, and its timelapse as GIF and MP4.

    film = Film(capacity=120)
    film.add(step, samples, field=None)     # every render (app) or every few steps (CLI)
    frame = film.frames[i]                  # Frame(step, samples, field): what the view showed
    write_timelapse(film, real, folder)     # timelapse.gif + timelapse.mp4

A run of a million steps must not grow memory, so the film keeps at most `capacity` frames,
spread evenly over the whole run: when it is full, every other frame is dropped and frames are
recorded half as often (as History does with the curves). A frame is what the samples view
showed at that step: the generated samples (points (N, 2) float32, or images as uint8) and, for
points, D's heatmap. 120 frames of the ring's view are ~1 MB; of a 64-image digit grid ~2 MB.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .pictures import image_grid, scatter

FRAME_CAP = 120
TIMELAPSE_FPS = 8
PICTURE_PX = 360            # each timelapse frame: a square picture of the samples view


@dataclass(frozen=True)
class Frame:
    """The samples view at one step."""

    step: int
    samples: np.ndarray               # points (N, 2) float32, or images (N, C, H, W) uint8
    heat: np.ndarray | None = None    # points: D's heatmap (G, G) float16, rows = y

    @property
    def images(self) -> bool:
        return self.samples.ndim == 4

    def sample_array(self) -> np.ndarray:
        """The samples as the charts take them: points as they are, images back in [-1, 1]."""
        if not self.images:
            return self.samples
        return self.samples.astype(np.float32) / 127.5 - 1.0


def _compact(samples: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] -> uint8 (a quarter of the memory, exactly what a picture shows)."""
    if samples.ndim == 4:
        return np.clip((samples + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return samples.astype(np.float32, copy=True)


class Film:
    """At most `capacity` frames spread evenly over a run."""

    def __init__(self, capacity: int = FRAME_CAP):
        self.capacity = capacity
        self.stride = 1
        self.frames: list[Frame] = []
        self._offered = 0

    def add(self, step: int, samples: np.ndarray, field: dict | None = None) -> bool:
        """Record the view at `step` if this offer falls on the stride; True when kept."""
        keep = self._offered % self.stride == 0
        self._offered += 1
        if not keep:
            return False
        heat = None
        if field is not None and field.get("d") is not None:
            heat = np.asarray(field["d"], dtype=np.float16)
        self.frames.append(Frame(int(step), _compact(np.asarray(samples)), heat))
        if len(self.frames) > self.capacity:
            self.frames = self.frames[::2]
            self.stride *= 2
        return True

    def __len__(self) -> int:
        return len(self.frames)

    def steps(self) -> list[int]:
        return [f.step for f in self.frames]


# --- pictures and timelapse ------------------------------------------------------------
def frame_at(run, index: int, real_points: int = 300):
    """(frame, real points or None) of `run`'s film at `index` (clamped), or None without one:
    what the History slider shows. A module-level function, so it can be sent to a run that
    trains in its own process (process_session.py)."""
    if run.film is None or not run.film.frames:
        return None
    frames = run.film.frames
    frame = frames[max(0, min(index, len(frames) - 1))]
    return frame, None if frame.images else run.real[:real_points]


def frame_picture(frame: Frame, real: np.ndarray | None = None, extent: float | None = None) -> Image.Image:
    """One frame as a picture with its step written in a corner (for GIF / MP4)."""
    if frame.images:
        side = frame.samples.shape[-1]
        picture = image_grid(frame.sample_array(), columns=8, scale=max(1, PICTURE_PX // (8 * (side + 1))))
    else:
        picture = scatter(frame.samples, real, size=PICTURE_PX, extent=extent)
    picture = picture.convert("RGB")
    ImageDraw.Draw(picture).text((6, 4), f"step {frame.step}", fill=(20, 20, 20))
    return picture


def write_timelapse(film: Film, folder: Path, real: np.ndarray | None = None,
                    fps: int = TIMELAPSE_FPS) -> list[Path]:
    """timelapse.gif and timelapse.mp4 of the film into `folder`; [] for an empty film.

    The MP4 uses imageio-ffmpeg, whose wheel ships an ffmpeg binary (nothing to install)."""
    if not film.frames:
        return []
    import imageio.v3 as iio               # only exports need it: the app starts without it
    extent = None
    if real is not None and not film.frames[0].images:
        finite = real[np.isfinite(real).all(axis=1)]
        extent = float(np.abs(finite).max() * 1.2) if len(finite) else None
    pictures = [np.asarray(frame_picture(f, real, extent)) for f in film.frames]
    folder = Path(folder)
    gif, mp4 = folder / "timelapse.gif", folder / "timelapse.mp4"
    iio.imwrite(gif, pictures, duration=int(1000 / fps), loop=0)
    # H.264 wants sides divisible by 16 (macro blocks): pad the pictures rather than rescale.
    height, width = pictures[0].shape[:2]
    pad = ((0, -height % 16), (0, -width % 16), (0, 0))
    padded = [np.pad(p, pad, constant_values=255) for p in pictures]
    iio.imwrite(mp4, padded, fps=fps, codec="libx264", plugin="FFMPEG")
    return [gif, mp4]
