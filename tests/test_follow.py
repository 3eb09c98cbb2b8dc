"""A follower's light refresh (ui/follow.py): it sees the step advance, gets each frame once,
already in the form Gradio sends, and ?follow= switches the page onto it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from playground.config import get_preset
from playground.registry import SessionRegistry
from playground.ui import follow
from playground.ui.app import build_app
from playground.ui.controls import values_from_config
from playground.ui.follow import FOLLOW_OUTPUTS, FollowHandlers
from playground.ui.share import ShareHandlers
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors

FIGURE_IDS = ("loss_plot", "prob_plot", "grad_plot", "quality_plot", "field_plot", "grid_image")


@pytest.fixture
def app():
    registry, visitors = SessionRegistry(max_running=3), Visitors(lesson="ring_stable")
    demo = build_app(registry, visitors)
    train = TrainHandlers(registry, visitors)
    yield SimpleNamespace(demo=demo, registry=registry, visitors=visitors, train=train,
                          share=ShareHandlers(registry, visitors, train),
                          follow=FollowHandlers(registry, visitors, demo.train_page))
    for key in ("lecturer", "student", "other"):
        registry.close(key)


def request(name: str, query: dict | None = None):
    return SimpleNamespace(session_hash=name, query_params=query or {})


def lecturer_steps(app, count: int = 1) -> None:
    values = values_from_config(get_preset("ring_stable").config.replace(width=16))
    for _ in range(count):
        app.train.step(request("lecturer"), values)


def test_opening_a_follow_link_switches_the_page_to_the_followers_timer(app):
    lecturer_steps(app)
    code = app.registry.share("lecturer")
    out = app.share.open_link(request("student", {"follow": code}), {})
    assert out["timer"].active is False and out["follow_timer"].active is True
    fn = next(f for f in app.demo.fns.values() if f.api_name == "follow")
    assert not fn.postprocess                     # its values come already in Gradio's form
    assert [app.demo.train_page._names[c] for c in fn.outputs] == list(FOLLOW_OUTPUTS)


def test_a_follower_sees_the_step_advance_and_gets_each_frame_once(app, monkeypatch):
    monkeypatch.setattr(follow, "FRAME_EVERY_S", 0.0)      # a new frame whenever there is one
    lecturer_steps(app)
    app.share.open_link(request("student", {"follow": app.registry.share("lecturer")}), {})
    first = app.follow.tick(request("student"))
    assert "step 1" in first["status"]
    assert first["loss_plot"]["type"] == "plotly" and isinstance(first["loss_plot"]["plot"], str)
    assert first["field_plot"]["visible"] is True and first["grid_image"]["visible"] is False
    assert app.follow.tick(request("student")) == {}       # up to date: nothing re-sent
    lecturer_steps(app)
    second = app.follow.tick(request("student"))
    assert "step 2" in second["status"]
    assert set(FIGURE_IDS) <= set(second) and second["loss_plot"] != first["loss_plot"]
    assert "visible" not in second["field_plot"]          # shown already: just the new value


def test_followers_share_one_frame_and_a_new_one_waits_for_its_cadence(app, monkeypatch):
    monkeypatch.setattr(follow, "FRAME_EVERY_S", 3600.0)
    lecturer_steps(app)
    code = app.registry.share("lecturer")
    for name in ("student", "other"):
        app.share.open_link(request(name, {"follow": code}), {})
    one, two = app.follow.tick(request("student")), app.follow.tick(request("other"))
    assert one["loss_plot"] is two["loss_plot"]           # built and wired once for both
    lecturer_steps(app)
    later = app.follow.tick(request("student"))
    assert "step 2" in later["status"] and set(later) == {"status"}


def test_a_follower_of_an_ended_run_is_told_once(app):
    lecturer_steps(app)
    app.share.open_link(request("student", {"follow": app.registry.share("lecturer")}), {})
    app.follow.tick(request("student"))
    app.registry.close("lecturer")
    assert app.follow.tick(request("student")) == {"status": follow.ENDED}
    assert app.follow.tick(request("student")) == {}
