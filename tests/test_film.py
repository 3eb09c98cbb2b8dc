"""Film: a bounded, evenly thinned record of the samples view, and its timelapse files."""
import numpy as np
import pytest

from playground.config import TrainConfig
from playground.film import Film, frame_picture, write_timelapse

TINY = TrainConfig(width=8, depth=1, batch_size=16, z_dim=2, device="cpu")


def test_a_long_run_keeps_at_most_the_cap_spread_over_the_whole_run():
    film = Film(capacity=16)
    points = np.zeros((300, 2), np.float32)
    for step in range(1, 100_001):
        film.add(step, points)
    steps = film.steps()
    assert len(film) <= 16 and steps[0] == 1
    gaps = np.diff(steps)
    assert len(set(gaps)) == 1 and steps[-1] > 90_000      # even, and reaching the end


def test_images_are_kept_as_bytes_and_come_back_in_range():
    film = Film()
    images = np.linspace(-1, 1, 64 * 16 * 16).reshape(64, 1, 16, 16).astype(np.float32)
    film.add(7, images)
    frame = film.frames[0]
    assert frame.samples.dtype == np.uint8 and frame.images
    assert np.abs(frame.sample_array() - images).max() <= 1 / 127.5
    assert frame_picture(frame).size[0] > 100


def test_the_cli_writes_a_playable_gif_and_mp4(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    from playground.cli import train
    train(TINY, 40, tmp_path, quiet=True, timelapse=True)
    gif = iio.imread(tmp_path / "timelapse.gif")
    mp4 = iio.imread(tmp_path / "timelapse.mp4", plugin="FFMPEG")
    assert gif.shape[0] == mp4.shape[0] == 40              # 40 steps < the cap: every step
    assert mp4.shape[1] % 16 == 0 and mp4.shape[2] % 16 == 0


def test_an_empty_film_writes_nothing(tmp_path):
    assert write_timelapse(Film(), tmp_path) == []
