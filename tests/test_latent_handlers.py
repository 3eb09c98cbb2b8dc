"""The Latent tab's handlers called directly: walks and sliders on the session's generator or an
uploaded checkpoint, and the clear messages when there is neither."""
from __future__ import annotations

import plotly.graph_objects as go
from PIL import Image

from playground.ui.latent_handlers import NO_MODEL
from latent_calls import check, slide, walk
from ui_fixtures import TINY, TINY_DIGITS, ui, unwrap, values  # noqa: F401


def test_latent_walk_needs_a_model_then_gives_a_strip_and_a_gif(ui):
    train, latent, request = ui
    req = request()
    message, *_ = walk(latent, req, "session", None, 1, 2, 6, "slerp")
    assert message.endswith(NO_MODEL)
    for _ in range(3):
        assert "done" in train.step(req, values(TINY_DIGITS))["message"]
    message, strip, path, gif = walk(latent, req, "session", None, 1, 2, 6, "slerp")
    picture = unwrap(strip)
    assert isinstance(picture, Image.Image) and picture.width > 5 * picture.height
    assert path == {"__type__": "update", "visible": False}
    assert picture.width < 9 * picture.height                 # 6 frames: one row, each legible
    with Image.open(gif) as animation:
        assert animation.n_frames == 6
    assert "Seed A" in walk(latent, req, "session", None, None, 2, 6, "lerp")[0]
    assert "Frames" in walk(latent, req, "session", None, 1, 2, 99, "lerp")[0]
    message, strip, _, _ = walk(latent, req, "session", None, 1, 2, 32, "lerp")
    assert unwrap(strip).height > 3 * unwrap(strip).width / 8 * 0.9   # 32 frames wrap into 4 rows
    message, one, _ = slide(latent, req, "session", None, 1, 0.5, -1.0, 0, 0)
    assert isinstance(unwrap(one), Image.Image) and "z1=+0.50" in message
    shown = latent.show_dims(req, {"latent_source": "session"})
    assert [shown[f"z{i}"]["visible"] for i in range(1, 9)] == [True] * 8   # z_dim 8: 8 sliders


def test_latent_walk_on_points_draws_the_path(ui):
    train, latent, request = ui
    req = request()
    train.step(req, values(TINY))
    message, strip, path, gif = walk(latent, req, "session", None, 4, 5, 7, "lerp")
    figure = unwrap(path)
    assert isinstance(figure, go.Figure) and path["visible"] is True
    assert [t.name for t in figure.data[:2]] == ["real data", "generated"]
    assert len(figure.data[1].x) == 7
    flat = request("flat")
    train.step(flat, values(TINY.replace(z_dim=2)))
    shown = latent.show_dims(flat, {"latent_source": "session"})
    assert [shown[f"z{i}"]["visible"] for i in range(1, 9)] == [True, True] + [False] * 6  # z_dim 2
    with Image.open(gif) as animation:
        assert animation.n_frames == 7


def test_garbage_checkpoint_gets_a_clear_message(ui, tmp_path):
    _, latent, request = ui
    req = request()
    garbage = tmp_path / "model.safetensors"
    garbage.write_bytes(b"\x00not a checkpoint at all" * 10)
    message, source = check(latent, req, str(garbage))
    assert "model.safetensors" in message and "safetensors" in message and source == "session"
    message, *_ = walk(latent, req, "upload", str(garbage), 1, 2, 4, "slerp")
    assert message.startswith("⚠️") and "model.safetensors" in message
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"whatever")
    assert "only .safetensors" in check(latent, req, str(pickle))[0]
    assert "Upload" in walk(latent, req, "upload", None, 1, 2, 4, "slerp")[0]


def test_an_uploaded_checkpoint_outlives_its_file(ui, tmp_path):
    """Gradio deletes uploads after a few minutes; the walk keeps the generator it loaded."""
    train, latent, request = ui
    req = request()
    train.step(req, values(TINY))
    files = train.export(req, {})["downloads"]
    upload = tmp_path / "generator.safetensors"
    upload.write_bytes(open(next(f for f in files if f.endswith(".safetensors")), "rb").read())
    assert "Loaded" in check(latent, req, str(upload))[0]
    upload.unlink()                                   # delete_cache removed it
    message, _, path, _ = walk(latent, req, "upload", str(upload), 1, 2, 3, "lerp")
    assert isinstance(unwrap(path), go.Figure), message
    gone = tmp_path / "other.safetensors"            # never loaded, and not there: say so
    assert "upload it again" in check(latent, req, str(gone))[0]
