"""Session: every command, live edits, immutable snapshots, one thread at most, threads end."""
import dataclasses
import threading
import time

import pytest

from browser_helpers import trainer_threads
from playground.config import ConfigError, TrainConfig
from playground.session import POINT_SAMPLES, Session, SessionRegistry

TINY = TrainConfig(width=16, depth=2, batch_size=32, z_dim=2)


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def session():
    s = Session(TINY)
    yield s
    s.stop()


def test_start_advances_and_pause_holds(session):
    assert session.snapshot().state == "idle"
    assert session.start() == "training"
    assert wait_for(lambda: session.snapshot().step > 20)
    assert session.snapshot().state == "running"
    session.pause()
    held = session.snapshot().step
    time.sleep(0.3)
    assert session.snapshot().step == held
    assert session.snapshot().state == "paused"
    assert trainer_threads() == 0


def test_single_steps_touch_one_network(session):
    session.step()
    g_before = [p.clone() for p in session.trainer.generator.parameters()]
    d_before = [p.clone() for p in session.trainer.discriminator.parameters()]
    assert session.step(1, 0) == "one D update done"
    assert all((a == b).all() for a, b in zip(g_before, session.trainer.generator.parameters()))
    assert any((a != b).any() for a, b in zip(d_before, session.trainer.discriminator.parameters()))
    assert session.step(0, 1) == "one G update done"
    assert any((a != b).any() for a, b in zip(g_before, session.trainer.generator.parameters()))
    assert session.snapshot().step == 3


def test_step_refused_while_running(session):
    session.start()
    assert "pause first" in session.step()


def test_live_update_reaches_the_running_trainer(session):
    session.start()
    message = session.update(lr_d=0.0042, d_steps=3)
    assert "lr_d=0.0042" in message
    assert wait_for(lambda: session.trainer.config.lr_d == 0.0042 and session.trainer.config.d_steps == 3)
    assert session.trainer.opt_d.param_groups[0]["lr"] == 0.0042
    assert session.running


def test_non_live_change_needs_reset(session):
    session.step()
    message = session.update(depth=3)
    assert "depth" in message and "Reset" in message
    assert session.trainer.config.depth == 2
    session.reset()
    assert session.trainer.config.depth == 3
    assert session.snapshot().step == 0


def test_bad_update_refused_and_session_keeps_working(session):
    session.start()
    with pytest.raises(ConfigError, match="lr_d"):
        session.update(lr_d=-1)
    with pytest.raises(ConfigError, match="lr_g"):
        session.update(lr_g=None)
    step = session.snapshot().step
    assert wait_for(lambda: session.snapshot().step > step + 5)


def test_start_with_changed_architecture_starts_fresh(session):
    session.step()
    session.step()
    message = session.start(TINY.replace(width=24))
    assert "width" in message and "fresh" in message
    assert session.trainer.config.width == 24


def test_snapshot_is_immutable_and_independent(session):
    session.step()
    snap = session.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 99
    curves = snap.curves
    session.step()
    session.step()
    assert len(curves["step"]) == 1 and len(session.snapshot().curves["step"]) == 3
    assert snap.samples is not session.snapshot().samples


def test_snapshot_has_what_the_page_needs(session):
    session.step()
    snap = session.snapshot()
    assert snap.kind == "points" and snap.samples.shape == (POINT_SAMPLES, 2)
    assert set(snap.field) == {"xs", "ys", "d", "arrows"}
    assert snap.manifold.shape == (15, 15, 2)            # z_dim == 2
    assert "step 1" in snap.status_line()


def test_status_line_says_running_once(session):
    assert session.start() == "training"
    line = session.snapshot().status_line()
    session.pause()
    assert line.startswith("running · step") and "training" not in line


def test_many_clicks_never_make_two_threads(session):
    for _ in range(20):
        session.start()
        assert trainer_threads() <= 1
    session.pause()
    assert trainer_threads() == 0


def test_stop_ends_the_thread_for_good(session):
    session.start()
    assert wait_for(lambda: session.snapshot().step > 0)
    session.stop()
    assert trainer_threads() == 0
    assert session.start() == "this session is closed"
    assert trainer_threads() == 0


def test_divergence_pauses_and_restore_recovers(session):
    session.step()
    with session._step_lock:
        next(session.trainer.generator.parameters()).data.fill_(float("inf"))
    session.start()
    assert wait_for(lambda: session.snapshot().state == "diverged")
    assert wait_for(lambda: trainer_threads() == 0)
    assert "restore" in session.start()
    session.restore()
    assert all(p.isfinite().all() for p in session.trainer.generator.parameters())
    session.start()
    assert wait_for(lambda: session.snapshot().step > 5)


def test_memory_stays_flat_over_many_steps():
    """History is bounded: many tiny steps keep <= capacity rows and a bounded recent window.

    The capacity is lowered so a few thousand steps go through several decimations; the long
    run's RSS is measured in bench/long_run_rss.py."""
    s = Session(TrainConfig(width=4, depth=1, batch_size=2, z_dim=1))
    try:
        s.step()
        s.history.capacity = 100
        for _ in range(3000):
            s._train_once()
        assert len(s.history.rows) <= 100 and s.history.stride >= 16
        assert len(s.history.recent) <= 200
        assert len(s.history) == 3001
    finally:
        s.stop()


def test_registry_caps_running_sessions_and_closes():
    registry = SessionRegistry(max_running=2)
    try:
        for key in "ab":
            assert registry.start(key, TINY) == "training"
        refused = registry.start("c", TINY)
        assert "2 runs are active" in refused
        assert not registry.get("c").running
        registry.close("a")
        assert registry.start("c", TINY) == "training"
    finally:
        for key in "abc":
            registry.close(key)
    assert trainer_threads() == 0


def test_registry_cap_holds_under_a_burst_of_starts():
    registry = SessionRegistry(max_running=2)
    keys = [f"user{i}" for i in range(8)]
    threads = [threading.Thread(target=registry.start, args=(k, TINY)) for k in keys]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert registry.running_count() == 2
        assert trainer_threads() == 2
    finally:
        for key in keys:
            registry.close(key)
    assert trainer_threads() == 0


def test_registry_sweeps_idle_sessions():
    registry = SessionRegistry(max_running=2, idle_s=0.2)
    registry.start("gone", TINY)
    time.sleep(0.4)
    registry.sweep()
    assert len(registry) == 0 and trainer_threads() == 0
