"""Session: every command, live edits, immutable snapshots, one thread at most, threads end."""
import dataclasses
import threading
import time

import pytest
import torch

from browser_helpers import trainer_threads
from playground.config import ConfigError, TrainConfig
from playground.cli import train as cli_train
from playground.registry import SessionRegistry
from playground.session import Session
from playground.snapshot import POINT_SAMPLES

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
    assert session.start().code == "started"
    assert wait_for(lambda: session.snapshot().step > 20)
    assert session.snapshot().state == "running"
    session.pause()
    held = session.snapshot().step
    time.sleep(0.3)
    assert session.snapshot().step == held
    assert session.snapshot().state == "paused"
    assert session.snapshot().steps_per_s == 0.0          # a paused run shows no rate
    assert trainer_threads() == 0


def test_single_steps_touch_one_network(session):
    session.step()
    g_before = [p.clone() for p in session.trainer.generator.parameters()]
    d_before = [p.clone() for p in session.trainer.discriminator.parameters()]
    assert session.step(1, 0).get("which") == "d"
    assert all((a == b).all() for a, b in zip(g_before, session.trainer.generator.parameters()))
    assert any((a != b).any() for a, b in zip(d_before, session.trainer.discriminator.parameters()))
    assert session.step(0, 1).get("which") == "g"
    assert any((a != b).any() for a, b in zip(g_before, session.trainer.generator.parameters()))
    assert session.snapshot().step == 3


def test_step_refused_while_running(session):
    session.start()
    assert session.step().code == "pause_first"


def test_live_update_reaches_the_running_trainer(session):
    session.start()
    notice = session.update(lr_d=0.0042, d_steps=3)
    assert notice.code == "applied" and dict(notice.get("live")) == {"lr_d": 0.0042, "d_steps": 3}
    assert wait_for(lambda: session.trainer.config.lr_d == 0.0042 and session.trainer.config.d_steps == 3)
    assert session.trainer.opt_d.param_groups[0]["lr"] == 0.0042
    assert session.running


def test_non_live_change_needs_reset(session):
    session.step()
    notice = session.update(depth=3)
    assert notice.get("later") == ("depth",) and notice.get("live") == ()
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
    notice = session.start(TINY.replace(width=24))
    assert notice.code == "rebuilt" and notice.get("keys") == ("width",)
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
    assert set(snap.field) == {"xs", "ys", "d", "arrows", "critic"} and snap.field["critic"] is False
    assert snap.manifold.shape == (15, 15, 2)            # z_dim == 2
    assert snap.step == 1 and snap.version >= 1


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
    assert session.start().code == "closed"
    assert trainer_threads() == 0


def test_divergence_pauses_and_restore_recovers(session):
    session.step()
    session.with_trainer(lambda t: next(t.generator.parameters()).data.fill_(float("inf")))
    session.start()
    assert wait_for(lambda: session.snapshot().state == "diverged")
    assert wait_for(lambda: trainer_threads() == 0)
    assert session.start().code == "diverged" and session.snapshot().can_restore
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
        history = s.run.history
        history.capacity = 100
        s.with_run(lambda run: [run.step() for _ in range(3000)])
        assert len(history.rows) <= 100 and history.stride >= 16
        assert len(history.recent) <= 200
        assert len(history) == 3001
    finally:
        s.stop()


def test_registry_caps_running_sessions_and_closes():
    registry = SessionRegistry(max_running=2)
    try:
        for key in "ab":
            assert registry.start(key, TINY).code == "started"
        refused = registry.start("c", TINY)
        assert refused.code == "cap_reached" and refused.get("count") == 2
        assert not registry.get("c").running
        registry.close("a")
        assert registry.start("c", TINY).code == "started"
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


def test_vanished_clients_free_their_slots_without_anyone_pressing():
    """Two runs whose pages stop ticking pause themselves; the sweeper needs no Start."""
    registry = SessionRegistry(max_running=2, unwatched_s=0.5, idle_s=60, sweep_every_s=0.1)
    try:
        for key in "ab":
            assert registry.start(key, TINY).code == "started"
        assert registry.running_count() == 2
        assert wait_for(lambda: registry.running_count() == 0, timeout=10)
        assert registry.get("a").snapshot().notice.code == "unwatched"
        assert registry.start("c", TINY).code == "started"        # a slot is free again
    finally:
        for key in "abc":
            registry.close(key)
    assert trainer_threads() == 0


def test_a_closed_or_swept_session_calls_on_close():
    registry = SessionRegistry(max_running=2, idle_s=0.2)
    closed = []
    registry.on_close(closed.append)
    registry.get("gone")
    registry.get("stays")
    registry.close("stays")
    time.sleep(0.3)
    registry.sweep()
    assert sorted(closed) == ["gone", "stays"] and len(registry) == 0


def test_a_refused_reset_keeps_the_run(session):
    session.step()
    session.step()
    run = session.run
    with pytest.raises(ConfigError, match="Batch size 1024 needs about"):
        session.reset(TINY.replace(dataset="digits", arch="dcgan", image_size=64, width=512,
                                   batch_size=1024))
    assert session.run is run and session.snapshot().step == 2


def test_a_live_batch_edit_past_the_budget_is_refused_like_a_fresh_start():
    config = TrainConfig(dataset="digits", arch="dcgan", image_size=64, width=64, batch_size=8)
    s = Session(config)
    try:
        s.step()
        with pytest.raises(ConfigError) as live:
            s.update(batch_size=1024)
        with pytest.raises(ConfigError) as fresh:
            Session(config.replace(batch_size=1024)).step()
        assert str(live.value) == str(fresh.value)
        assert s.trainer.config.batch_size == 8 and s.config.batch_size == 8
    finally:
        s.stop()


@pytest.mark.parametrize("spectral", [False, True])
def test_the_app_run_equals_the_cli_run_step_for_step(tmp_path, spectral):
    """Same config and seed: the Session's worker (rendering every step) and the CLI go through
    the same loop and produce identical History columns over 500 steps."""
    config = TINY.replace(spectral_norm=spectral, seed=3, device="cpu")
    steps = 500
    cli_run = {}

    def keep(run):
        cli_run["columns"] = run.history.columns()
    from playground import run as run_module
    original = run_module.Run.train

    def train_and_keep(self, n, should_stop=None):
        original(self, n, should_stop)
        keep(self)
    run_module.Run.train = train_and_keep
    try:
        cli_train(config, steps, tmp_path, quiet=True)
    finally:
        run_module.Run.train = original
    s = Session(config)
    try:
        for _ in range(steps):
            s.step()                        # renders (field view, samples) after every step
        assert s.run.history.columns() == cli_run["columns"]
    finally:
        s.stop()


def test_a_render_leaves_a_spectral_normed_discriminator_unchanged():
    """The field view runs D in eval mode: no power iteration, no BatchNorm statistics."""
    from playground.field import field_view
    from playground.trainer import Trainer
    trainer = Trainer(TINY.replace(spectral_norm=True, device="cpu"))
    trainer.step()
    before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    field_view(trainer, trainer.sample(64), 3.0)
    after = trainer.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert trainer.discriminator.training                  # and it is back in training mode


def test_one_visitors_slow_data_load_does_not_hold_up_anothers_build(monkeypatch):
    """Data is loaded before BUILD_LOCK: only the seeded network build is serialised."""
    from playground import data, session as session_module
    loading, release = threading.Event(), threading.Event()
    ring = data.DATASETS["ring"]

    def slow_ring(config):
        if config.seed == 1:                      # visitor A: a download that takes its time
            loading.set()
            release.wait(20)
        return ring(config)
    monkeypatch.setitem(data.DATASETS, "ring", slow_ring)
    slow, quick = Session(TINY.replace(seed=1)), Session(TINY.replace(seed=2))
    worker = threading.Thread(target=slow.step)
    try:
        worker.start()
        assert loading.wait(10)
        assert not session_module.BUILD_LOCK.locked()          # A waits for data, not the lock
        quick.step()                                           # B builds and steps meanwhile
        assert quick.snapshot().step == 1 and slow.snapshot().step == 0
    finally:
        release.set()
        worker.join(20)
        slow.stop()
        quick.stop()
