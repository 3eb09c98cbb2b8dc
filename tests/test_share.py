"""Share links, class-mode hide flags, autostart, and following a run read-only."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from playground.config import get_preset
from playground.registry import SessionRegistry
from playground.ui.controls import values_from_config
from playground.ui.share import ShareHandlers, hidden_ids, link_query, parse_set
from playground.ui.tick import tick
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors


@pytest.fixture
def handlers():
    registry, visitors = SessionRegistry(max_running=3), Visitors(lesson="ring_stable")
    registry.on_close(visitors.forget)
    train = TrainHandlers(registry, visitors)
    yield ShareHandlers(registry, visitors, train), train, registry
    for key in ("lecturer", "student", "fresh", "s1", "s2"):
        registry.close(key)


def request(name: str, query: dict | None = None):
    return SimpleNamespace(session_hash=name, query_params=query or {})


def test_a_link_carries_the_lesson_the_differences_and_the_seed():
    values = values_from_config(get_preset("ring_collapse").config.replace(lr_d=0.004, seed=7))
    query = parse_qs(urlparse(link_query("ring_collapse", values)).query)
    assert query["lesson"] == ["ring_collapse"] and query["tab"] == ["train"]
    assert parse_set(query["set"][0]) == {"lr_d": "0.004", "seed": "7"}


def test_opening_a_link_restores_every_control_it_carries(handlers):
    share, train, registry = handlers
    wanted = get_preset("ring_collapse").config.replace(lr_d=0.004, d_steps=3, seed=7)
    link = link_query("ring_collapse", values_from_config(wanted))
    query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
    out = share.open_link(request("fresh", query), values_from_config(get_preset("ring_stable").config))
    shown = values_from_config(wanted)
    assert {k: out[k] for k in shown} == shown                    # compared field by field
    assert out["preset"] == "ring_collapse" and registry.get("fresh").config == wanted


def test_hide_flags_hide_the_named_controls_and_say_what_is_unknown(handlers):
    share, _, _ = handlers
    assert hidden_ids("advanced,loss,bogus") == (["advanced_tab", "loss"], ["bogus"])
    out = share.open_link(request("fresh", {"hide": "advanced,loss,bogus"}), {})
    assert out["advanced_tab"].visible == "hidden" and out["loss"]["visible"] is False
    assert "bogus" in out["message"]


def test_a_bad_value_in_a_link_is_refused_by_name_and_autostart_waits(handlers):
    share, _, registry = handlers
    out = share.open_link(request("fresh", {"lesson": "ring_stable", "set": "lr_d:-3",
                                            "autostart": "1"}), {})
    assert "Learning rate of D" in out["message"] and not registry.get("fresh").running


def test_autostart_starts_the_linked_run(handlers):
    share, _, registry = handlers
    values = values_from_config(get_preset("ring_stable").config)
    out = share.open_link(request("fresh", {"lesson": "ring_stable", "set": "width:16,seed:3",
                                            "autostart": "1", "tab": "train",
                                            "hide": "loss,advanced"}), values)
    session = registry.get("fresh")
    assert session.running and session.trainer.config.width == 16 and "Training" in out["message"]


def test_followers_see_the_lecturers_run_and_the_code_dies_with_it(handlers):
    share, train, registry = handlers
    lecturer = request("lecturer")
    train.step(lecturer, values_from_config(get_preset("ring_stable").config.replace(width=16)))
    code = registry.share("lecturer")
    assert registry.share("lecturer") == code                     # one code per run
    out = share.open_link(request("student", {"follow": code.lower()}), {})
    assert out["start"]["visible"] is False and "read-only" in out["message"]
    followed = registry.followed(code)
    assert followed is registry.get("lecturer")
    first = tick(followed.snapshot(), None, owner=f"follow:{code}")
    again = tick(followed.snapshot(), None, owner=f"follow:{code}")
    assert first["loss_plot"] is again["loss_plot"]               # built once, shared
    assert "step 1" in first["status"]
    registry.close("lecturer")
    assert registry.followed(code) is None
    assert "No run is shared" in share.open_link(request("s2", {"follow": code}), {})["message"]
