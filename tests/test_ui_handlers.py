"""The UI's handlers called directly, without a browser: a fake request names the session.

Tiny networks (width 16, small batches) keep each run fast; every session is closed at the end,
so no trainer thread outlives its test.
"""
from __future__ import annotations

import csv
import re
import statistics
import time
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
from PIL import Image

from playground.checkpoint import load_generator
from playground.config import TrainConfig, get_preset
from playground.session import SessionRegistry
from playground.ui.controls import KEYS, as_dict, values_from_config
from playground.ui.latent_tab import NO_MODEL, LatentHandlers
from playground.ui.train_tab import ALL_WELL, BEFORE_RUN, TICK_OUTPUTS, TrainHandlers

TINY = TrainConfig(width=16, depth=2, batch_size=32, seed=3)
TINY_DIGITS = TrainConfig(dataset="digits", image_size=8, width=16, depth=2, batch_size=32, z_dim=8)


@pytest.fixture
def ui():
    """(train handlers, latent handlers, request factory); closes every session afterwards."""
    registry = SessionRegistry(max_running=4)
    names: list[str] = []

    def request(name: str = "a"):
        names.append(name)
        return SimpleNamespace(session_hash=name)

    yield TrainHandlers(registry), LatentHandlers(registry), request
    for name in set(names):
        registry.close(name)


def values(config: TrainConfig, **raw) -> list:
    """The controls' values for `config`, with raw overrides that may be invalid (-1, None)."""
    out = values_from_config(config)
    for key, value in raw.items():
        out[KEYS.index(key)] = value
    return out


def unwrap(output):
    """A plain value, or the value inside a gr.update(...) (None for a skip)."""
    return output.get("value") if isinstance(output, dict) else output


def is_skip(output) -> bool:
    return output == {"__type__": "update"}


def tick(train, req, sent=None) -> dict:
    return dict(zip(TICK_OUTPUTS, train.tick(req, sent)))


def step_of(status: str) -> int:
    return int(re.search(r"step (\d+)", status).group(1))


def wait_for_step(train, req, at_least: int, timeout: float = 10.0) -> int:
    """Poll the tick (as the page does) until the status shows `at_least` steps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = step_of(tick(train, req)["status"])
        if step >= at_least:
            return step
        time.sleep(0.1)
    raise AssertionError(f"status stayed below step {at_least}")


def test_preset_load_fills_controls_and_shows_lesson(ui):
    train, _, request = ui
    preset = get_preset("d_too_strong")
    out = train.load_preset(request(), "d_too_strong")
    controls, lesson, message = as_dict(out[:len(KEYS)]), out[-2], out[-1]
    assert controls["lr_d"] == preset.config.lr_d and controls["d_steps"] == preset.config.d_steps
    assert preset.title in lesson and preset.lesson[:40] in lesson
    assert preset.title in message
    assert "preset" in train.load_preset(request(), "no_such_lesson")[-1]


def test_start_advances_pause_holds_reset_clears(ui):
    train, _, request = ui
    req = request()
    first = tick(train, req)
    assert step_of(first["status"]) == 0 and first["findings"] == BEFORE_RUN
    assert train.start(req, *values(TINY)) == "training"
    wait_for_step(train, req, 20)
    assert "pause" in train.pause(req)
    held = step_of(tick(train, req)["status"])
    time.sleep(0.6)
    assert step_of(tick(train, req)["status"]) == held
    assert tick(train, req)["findings"] != BEFORE_RUN
    assert "reset" in train.reset(req, *values(TINY))
    status = tick(train, req)["status"]
    assert step_of(status) == 0 and status.startswith("idle")


def test_live_change_applies_at_once_and_other_keys_wait_for_reset(ui):
    train, _, request = ui
    req = request()
    train.start(req, *values(TINY))
    wait_for_step(train, req, 5)
    assert "lr_d=0.0042" in train.update(req, *values(TINY.replace(lr_d=0.0042, d_steps=2)))
    session = train.registry.get("a")
    deadline = time.monotonic() + 5
    while session.trainer.config.lr_d != 0.0042 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.trainer.config.lr_d == 0.0042 and session.trainer.config.d_steps == 2
    assert "lr_d=0.0042" in tick(train, req)["status"]
    message = train.update(req, *values(TINY.replace(lr_d=0.0042, d_steps=2, dataset="grid")))
    assert "dataset" in message and "Reset" in message
    assert session.trainer.config.dataset == "ring" and session.running


def test_bad_values_name_the_field_and_the_session_keeps_working(ui):
    train, _, request = ui
    req = request()
    message = train.start(req, *values(TINY, lr_d=-0.01))
    assert "lr_d" in message and "> 0" in message
    message = train.start(req, *values(TINY, batch_size=None))
    assert "batch_size" in message and "empty" in message
    assert not train.registry.get("a").running
    # Corrected, it trains; a bad live edit while running is refused and the run goes on.
    assert train.start(req, *values(TINY.replace(lr_d=0.002))) == "training"
    step = wait_for_step(train, req, 10)
    assert "lr_d" in train.update(req, *values(TINY, lr_d=-1))
    assert "lr_g" in train.update(req, *values(TINY, lr_g=None))
    wait_for_step(train, req, step + 10)
    assert train.registry.get("a").trainer.config.lr_d == 0.002


def test_latent_walk_needs_a_model_then_gives_a_strip_and_a_gif(ui):
    train, latent, request = ui
    req = request()
    message, *_ = latent.interpolate(req, "session", None, 1, 2, 6, "slerp")
    assert message.endswith(NO_MODEL)
    for _ in range(3):
        assert "done" in train.step(req, *values(TINY_DIGITS))
    message, strip, path, gif = latent.interpolate(req, "session", None, 1, 2, 6, "slerp")
    picture = unwrap(strip)
    assert isinstance(picture, Image.Image) and picture.width > 5 * picture.height
    assert path == {"__type__": "update", "visible": False}
    with Image.open(gif) as animation:
        assert animation.n_frames == 6
    assert "seed_a" in latent.interpolate(req, "session", None, None, 2, 6, "lerp")[0]
    assert "frames" in latent.interpolate(req, "session", None, 1, 2, 99, "lerp")[0]
    message, one, _ = latent.slide(req, "session", None, 1, 0.5, -1.0, 0, 0)
    assert isinstance(unwrap(one), Image.Image) and "z1=+0.50" in message


def test_latent_walk_on_points_draws_the_path(ui):
    train, latent, request = ui
    req = request()
    train.step(req, *values(TINY))
    message, strip, path, gif = latent.interpolate(req, "session", None, 4, 5, 7, "lerp")
    figure = unwrap(path)
    assert isinstance(figure, go.Figure) and path["visible"] is True
    assert [t.name for t in figure.data[:2]] == ["real data", "generated"]
    assert len(figure.data[1].x) == 7
    with Image.open(gif) as animation:
        assert animation.n_frames == 7


def test_garbage_checkpoint_gets_a_clear_message(ui, tmp_path):
    _, latent, request = ui
    req = request()
    garbage = tmp_path / "model.safetensors"
    garbage.write_bytes(b"\x00not a checkpoint at all" * 10)
    message, source = latent.check_upload(req, str(garbage))
    assert "model.safetensors" in message and "safetensors" in message and source == "session"
    message, *_ = latent.interpolate(req, "upload", str(garbage), 1, 2, 4, "slerp")
    assert message.startswith("⚠️") and "model.safetensors" in message
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"whatever")
    assert "only .safetensors" in latent.check_upload(req, str(pickle))[0]
    assert "Upload" in latent.interpolate(req, "upload", None, 1, 2, 4, "slerp")[0]


def test_downloads_config_metrics_checkpoint(ui):
    train, latent, request = ui
    req = request()
    config = TINY.replace(lr_g=0.0007)
    for _ in range(4):
        train.step(req, *values(config))
    files, message = train.export(req)
    assert message.startswith("exported step 4") and "links last 5 minutes" in message
    by_name = {path.rsplit("/", 1)[-1]: path for path in files}
    assert set(by_name) == {"config.json", "metrics.csv", "generator.safetensors"}
    with open(by_name["config.json"]) as handle:
        assert TrainConfig.from_json(handle.read()) == config
    with open(by_name["metrics.csv"]) as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["step", "d_loss", "g_loss"] and len(rows) >= 5
    generator, loaded, shape = load_generator(by_name["generator.safetensors"])
    assert loaded == config and shape == (2,)
    # The file is also what the Latent space tab accepts.
    assert "Loaded" in latent.check_upload(req, by_name["generator.safetensors"])[0]
    message, _, path, _ = latent.interpolate(req, "upload", by_name["generator.safetensors"], 1, 2, 3, "lerp")
    assert isinstance(unwrap(path), go.Figure), message


def test_an_uploaded_checkpoint_outlives_its_file(ui, tmp_path):
    """Gradio deletes uploads after a few minutes; the walk keeps the generator it loaded."""
    train, latent, request = ui
    req = request()
    train.step(req, *values(TINY))
    files, _ = train.export(req)
    upload = tmp_path / "generator.safetensors"
    upload.write_bytes(open(next(f for f in files if f.endswith(".safetensors")), "rb").read())
    assert "Loaded" in latent.check_upload(req, str(upload))[0]
    upload.unlink()                                   # delete_cache removed it
    message, _, path, _ = latent.interpolate(req, "upload", str(upload), 1, 2, 3, "lerp")
    assert isinstance(unwrap(path), go.Figure), message
    gone = tmp_path / "other.safetensors"            # never loaded, and not there: say so
    assert "upload it again" in latent.check_upload(req, str(gone))[0]


@pytest.mark.parametrize("preset", ["ring_stable", "digits_dcgan"])
def test_tick_is_cheap_and_small(ui, preset):
    """Figures built per tick stay under the payload budget; a tick with nothing new sends skips."""
    train, _, request = ui
    req = request(preset)
    train.start(req, *values(get_preset(preset).config))
    wait_for_step(train, req, 10, timeout=20)
    tick(train, req)                                  # warm plotly's validators
    times, sizes = [], []
    for _ in range(12):
        began = time.perf_counter()
        out = tick(train, req)                        # sent=None: everything, the worst case
        times.append((time.perf_counter() - began) * 1000)
        values_sent = [unwrap(v) for v in out.values()]
        sizes.append(sum(len(v.to_json()) if isinstance(v, go.Figure) else len(v)
                         for v in values_sent if isinstance(v, (go.Figure, str))) / 1024)
        time.sleep(0.1)
    median = statistics.median(times)
    print(f"\n{preset}: tick median {median:.1f} ms (max {max(times):.1f}), "
          f"payload max {max(sizes):.1f} KB")
    assert median <= 60 and max(sizes) <= 150
    if preset == "ring_stable":
        assert isinstance(unwrap(out["field_plot"]), go.Figure)
    else:   # the grid travels inline: no file a second in Gradio's cache
        assert unwrap(out["grid_image"]).startswith('<img src="data:image/png;base64,')
    train.pause(req)
    sent = tick(train, req)["sent"]
    again = tick(train, req, sent)
    assert all(is_skip(again[name]) for name in TICK_OUTPUTS if name != "sent")
    assert again["findings"] == {"__type__": "update"}
    findings = tick(train, req)["findings"]
    assert findings == ALL_WELL or "**" in findings


def test_a_new_visitor_trains_what_the_page_shows():
    """The page opens on the default lesson's values; the server's session must hold them too."""
    from playground.ui.app import build_app
    from playground.ui.train_tab import DEFAULT_PRESET
    registry = SessionRegistry()
    build_app(registry)
    try:
        assert registry.get("new").config == get_preset(DEFAULT_PRESET).config
    finally:
        registry.close("new")
