"""The UI's handlers called directly, without a browser: a fake request names the session.

Handlers take and return dicts keyed by elem_id (ui/page.py), so these tests speak the page's
own ids. Tiny networks keep each run fast; every session is closed at the end, so no trainer
thread outlives its test.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest

from playground.checkpoint import load_generator
from playground.config import TrainConfig, get_preset
from playground.registry import SessionRegistry
from playground.ui.controls import values_from_config
from playground.snapshot import Notice
from playground.ui.wording import ALL_WELL, BEFORE_RUN, notice_text
from latent_calls import check, walk
from ui_fixtures import TINY, step_of, tick, ui, unwrap, values, wait_for_step  # noqa: F401


def test_preset_load_fills_controls_and_shows_lesson(ui):
    train, _, request = ui
    preset = get_preset("d_too_strong")
    out = train.load_preset(request(), {"preset": "d_too_strong"})
    assert out["lr_d"] == values_from_config(preset.config)["lr_d"] and out["d_steps"] == str(preset.config.d_steps)
    assert preset.title in out["lesson"] and preset.lesson[:40] in out["lesson"]
    assert preset.title in out["message"]
    refused = train.load_preset(request(), {"preset": "no_such_lesson"})
    assert refused["preset"] == "d_too_strong" and "lr_d" not in refused     # back to the shown lesson


def test_a_lesson_whose_data_cannot_be_had_changes_nothing(ui, monkeypatch):
    """Offline, MNIST cannot be downloaded: the run, the controls and the lesson stay."""
    from playground import data
    from playground.data import DataError

    def offline(config):
        raise DataError("MNIST needs a one-time download, and this server cannot reach it")
    monkeypatch.setitem(data.DATASETS, "mnist", offline)
    train, _, request = ui
    req = request()
    for _ in range(3):
        train.step(req, values(TINY))
    session = train.registry.get("a")
    run, config = session.run, session.config
    out = train.load_preset(req, {"preset": "mnist_dcgan"})
    assert out["preset"] == "ring_stable" and "MNIST" in out["message"]
    assert set(out) == {"preset", "message"}                 # no control and no lesson text moves
    assert session.run is run and session.config == config and session.snapshot().step == 3


def test_start_advances_pause_holds_reset_clears(ui):
    train, _, request = ui
    req = request()
    first = tick(train, req)
    assert step_of(first["status"]) == 0 and first["findings"] == BEFORE_RUN
    assert train.start(req, values(TINY))["message"] == "Training."
    wait_for_step(train, req, 20)
    assert "Paused" in train.pause(req, {})["message"]
    status = tick(train, req)["status"]
    held = step_of(status)
    assert " 0.0 steps/s" in status                        # a paused run shows no rate
    time.sleep(0.6)
    assert step_of(tick(train, req)["status"]) == held
    assert tick(train, req)["findings"] != BEFORE_RUN
    assert "Fresh weights" in train.reset(req, values(TINY))["message"]
    status = tick(train, req)["status"]
    assert step_of(status) == 0 and status.startswith("idle")


def test_live_change_applies_at_once_and_other_keys_wait_for_reset(ui):
    train, _, request = ui
    req = request()
    train.start(req, values(TINY))
    wait_for_step(train, req, 5)
    message = train.update(req, values(TINY.replace(lr_d=0.0042, d_steps=2)))["message"]
    assert "Learning rate of D (lr_d) is now 0.0042" in message
    session = train.registry.get("a")
    deadline = time.monotonic() + 5
    while session.trainer.config.lr_d != 0.0042 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.trainer.config.lr_d == 0.0042 and session.trainer.config.d_steps == 2
    message = train.update(req, values(TINY.replace(lr_d=0.0042, d_steps=2, dataset="grid")))["message"]
    assert "Data: takes effect after Reset" in message
    assert session.trainer.config.dataset == "ring" and session.running


def test_bad_values_name_the_field_revert_the_box_and_the_session_keeps_working(ui):
    train, _, request = ui
    req = request()
    out = train.start(req, values(TINY, lr_d="-0.01"))
    assert "Learning rate of D" in out["message"] and "-0.01" in out["message"]
    assert out["lr_d"] == values_from_config(TINY.replace(lr_d=1e-3))["lr_d"]     # the box goes back
    out = train.start(req, values(TINY, batch_size=""))
    assert "Batch size" in out["message"] and "empty" in out["message"]
    out = train.start(req, values(TINY, d_steps="2.5"))
    assert "D updates per step" in out["message"] and "integer" in out["message"]
    assert not train.registry.get("a").running
    # Corrected, it trains; a bad live edit while running is refused and the run goes on.
    assert train.start(req, values(TINY.replace(lr_d=0.002)))["message"] == "Training."
    step = wait_for_step(train, req, 10)
    assert "Learning rate of D" in train.update(req, values(TINY, lr_d="-1"))["message"]
    assert "Learning rate of G" in train.update(req, values(TINY, lr_g="abc"))["message"]
    wait_for_step(train, req, step + 10)
    assert train.registry.get("a").trainer.config.lr_d == 0.002


def test_a_decimal_comma_is_a_decimal(ui):
    train, _, request = ui
    req = request()
    train.step(req, values(TINY, lr_d="0,004"))
    assert train.registry.get("a").trainer.config.lr_d == 0.004


def test_an_invalid_pending_value_does_not_block_single_steps(ui):
    train, _, request = ui
    req = request()
    train.step(req, values(TINY))
    out = train.step(req, values(TINY, arch="dcgan"))       # DCGAN on points: refused, not applied
    assert out["message"].startswith("One step done.") and "Architecture" in out["message"]
    assert train.d_step(req, values(TINY, arch="dcgan"))["message"].startswith("One D update done.")
    assert train.registry.get("a").snapshot().step == 3


def test_the_history_slider_shows_an_earlier_frame(ui):
    train, _, request = ui
    req = request()
    for _ in range(5):
        train.step(req, values(TINY))                      # each step renders: one frame each
    snap = train.registry.get("a").snapshot()
    assert snap.film_steps == (0, 1, 2, 3, 4, 5)           # fresh weights, then each step
    assert tick(train, req)["history_slider"]["maximum"] == 5
    first = train.show_frame(req, {"history_slider": 0})["history_view"]
    last = train.show_frame(req, {"history_slider": 5})["history_view"]
    assert "step 0</p>" in first and "step 5</p>" in last and first != last


def test_restore_is_offered_only_after_a_divergence(ui):
    train, _, request = ui
    req = request()
    train.step(req, values(TINY))
    assert unwrap(tick(train, req)["restore"]) is None and tick(train, req)["restore"]["interactive"] is False
    assert "Nothing to restore" in train.restore(req, {})["message"]
    session = train.registry.get("a")
    session.with_trainer(lambda t: next(t.generator.parameters()).data.fill_(float("inf")))
    train.step(req, values(TINY))
    assert tick(train, req)["restore"]["interactive"] is True
    assert "last good weights" in train.restore(req, {})["message"]


def test_downloads_carry_no_secret_and_replace_each_other(ui):
    train, latent, request = ui
    req = request("secret-session-hash")
    config = TINY.replace(lr_g=0.0007)
    for _ in range(40):
        train.step(req, values(config))
    out = train.export(req, {})
    assert out["message"].startswith("Exported step 40") and "links last 5 minutes" in out["message"]
    by_name = {Path(path).name: path for path in out["downloads"]}
    assert set(by_name) == {"config.json", "metrics.csv", "events.csv", "generator.safetensors",
                            "checkpoint.safetensors", "timelapse.gif", "timelapse.mp4"}
    assert TrainConfig.from_json(Path(by_name["config.json"]).read_text()) == config
    with open(by_name["metrics.csv"]) as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["step", "d_loss", "g_loss"] and [r[0] for r in rows[1:]] == ["10", "20", "30", "40"]
    import tempfile
    staging = str(Path(tempfile.gettempdir()))
    for path in out["downloads"]:
        content = Path(path).read_bytes()
        assert b"secret-session-hash" not in content and "secret-session-hash" not in path
        assert staging.encode() not in content                 # no server path in any file
    generator, loaded, shape = load_generator(by_name["generator.safetensors"])
    assert loaded == config and shape == (2,)
    # Ten more exports of the same run leave one set of files.
    for _ in range(10):
        train.step(req, values(config))
        again = train.export(req, {})
    folder = Path(again["downloads"][0]).parent
    assert {Path(p).parent for p in again["downloads"]} == {folder} == {Path(p).parent for p in out["downloads"]}
    assert sorted(p.name for p in folder.iterdir()) == sorted(by_name)
    # The file is also what the Latent space tab accepts.
    assert "Loaded" in check(latent, req, by_name["generator.safetensors"])[0]
    message, _, path, _ = walk(latent, req, "upload", by_name["generator.safetensors"], 1, 2, 3, "lerp")
    assert isinstance(unwrap(path), go.Figure), message
    train.close(req)
    assert not folder.exists()                       # the tab closed: its folder went with it


@pytest.mark.parametrize("preset", ["ring_stable", "digits_dcgan"])
def test_tick_sends_small_figures_and_nothing_when_nothing_changed(ui, preset):
    train, _, request = ui
    req = request(preset)
    train.start(req, values(get_preset(preset).config))
    wait_for_step(train, req, 10, timeout=30)
    out = tick(train, req)                            # sent=None: everything, the worst case
    size = sum(len(v.to_json()) if isinstance(v, go.Figure) else len(v)
               for v in map(unwrap, out.values()) if isinstance(v, (go.Figure, str))) / 1024
    assert size <= 150
    if preset == "ring_stable":
        assert isinstance(unwrap(out["field_plot"]), go.Figure)
    else:   # the grid travels inline: no file a second in Gradio's cache
        assert unwrap(out["grid_image"]).startswith('<img src="data:image/png;base64,')
    train.pause(req, {})
    sent = tick(train, req)["sent"]
    again = tick(train, req, sent)
    assert set(again) == {"sent"}                      # nothing new: nothing sent
    findings = tick(train, req)["findings"]
    assert findings == ALL_WELL or findings.count("**") >= 2


def test_a_pause_nobody_asked_for_reaches_the_message_area_once(ui):
    # The sweeper pauses a run nobody watches; the page says why when its visitor looks again,
    # once, and a command's own notice is left to the command's reply.
    train, _, request = ui
    req = request()
    train.step(req, values(TINY))
    assert "message" not in tick(train, req)              # "stepped": the Step button said it
    session = train.registry.get(req.session_hash)
    session.notify(Notice("unwatched", (("seconds", 180),)))
    told = tick(train, req)
    assert told["message"] == notice_text(Notice("unwatched", (("seconds", 180),)))
    assert "nobody watching" in told["message"]
    assert "message" not in tick(train, req, told["sent"])  # once


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


def test_slow_motion_walks_through_one_real_step(ui):
    from playground.ui.explain_panel import ExplainHandlers
    train, _, request = ui
    req = request()
    train.step(req, values(TINY))
    slow = ExplainHandlers(train.registry)
    out = slow.explain(req, {})
    assert out["explain_plot"]["visible"] is True and "1 of 3" in out["explain_caption"]
    assert out["explain"]["open"] is True            # the closed panel opens to show the step
    assert train.registry.get("a").snapshot().step == 2          # a real step, recorded
    assert train.registry.get("a").run.history.columns()["step"][-1] == 2
    state, pictures = out["explain_state"], [out["explain_plot"]["value"].to_json()]
    for _ in range(2):
        moved = slow.move(+1)(req, {"explain_state": state})
        state = moved["explain_state"]
        pictures.append(moved["explain_plot"]["value"].to_json())
    assert "3 of 3" in moved["explain_caption"] and len(set(pictures)) == 3
    assert slow.move(+1)(req, {"explain_state": state})["explain_state"]["index"] == 2   # stays at the end
    train.start(req, values(TINY))
    assert "Pause first" in slow.explain(req, {})["message"]


def test_a_lesson_question_is_asked_first_and_answered_at_its_step(ui, monkeypatch):
    from playground.ui import predict
    question = {"text": "What will D(G(z)) do?", "choices": ["rise", "sink", "stay"],
                "answer": 1, "why": "D wins.", "reveal_step": 3}
    monkeypatch.setattr(predict, "question_of", lambda lesson: question if lesson == "d_too_strong" else {})
    train, _, request = ui
    req = request()
    out = train.load_preset(req, {"preset": "d_too_strong"})
    assert out["question"]["visible"] is True and out["question"]["choices"] == ["rise", "sink", "stay"]
    assert "step 3" in out["answer"]
    first = train.refresh(req, {"sent": None, "question": "sink"})
    assert "answer" not in first                               # step 0: not yet
    tiny = values(get_preset("d_too_strong").config.replace(width=16, batch_size=32))
    for _ in range(3):
        train.step(req, tiny)
    shown = train.refresh(req, {"sent": first["sent"], "question": "sink"})
    assert shown["answer"].startswith("✅") and "Answer: sink" in shown["answer"]
    again = train.refresh(req, {"sent": shown["sent"], "question": "sink"})
    assert "answer" not in again                               # said once


def test_a_downloaded_run_resumes_in_the_app(ui, tmp_path):
    train, _, request = ui
    req = request()
    for _ in range(12):
        train.step(req, values(TINY))
    files = {Path(p).name: p for p in train.export(req, {})["downloads"]}
    saved = tmp_path / "checkpoint.safetensors"
    saved.write_bytes(Path(files["checkpoint.safetensors"]).read_bytes())
    other = request("other")
    out = train.upload_run(other, {"run_upload": str(saved)})
    assert "step 12" in out["message"] and out["width"] == "16"
    session = train.registry.get("other")
    assert session.snapshot().step == 12
    assert "One step done." in train.step(other, values(TINY))["message"]
    assert session.snapshot().step == 13
    refused = train.upload_run(other, {"run_upload": files["generator.safetensors"]})
    assert "generator only" in refused["message"] and session.snapshot().step == 13
