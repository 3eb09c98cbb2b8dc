"""A run in its own process (process_session.ProcessSession), as the served app trains it: the
same steps as in a thread, the same refusals, the page's handlers working through the pipe,
and app.py importable as the child's __mp_main__ without building anything."""
from __future__ import annotations

import operator
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import torch

from bench.common import wait_until
from playground.budget import BudgetError
from playground.config import ConfigError, get_preset
from playground.process_session import ProcessSession
from playground.registry import SessionRegistry
from playground.session import Session
from playground.snapshot import Notice
from playground.ui.controls import values_from_config
from playground.ui.latent_handlers import LatentHandlers
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors
from playground.ui.wording import notice_text

ROOT = Path(__file__).resolve().parents[1]
CONFIG = get_preset("ring_stable").config.replace(width=16, batch_size=32)


@pytest.fixture
def session():
    session = ProcessSession(CONFIG)
    yield session
    session.stop()


def test_the_run_trains_in_another_process_and_its_snapshots_come_back(session):
    assert session.snapshot().state == "idle" and not session.has_run()
    assert session.start().code == "started"
    assert session.run_pid not in (None, os.getpid())
    wait_until(lambda: session.snapshot().step >= 20, 60, "20 steps in the run's process")
    assert session.running and session.snapshot().samples is not None
    assert session.pause().code == "paused"
    paused = session.snapshot()
    assert paused.state == "paused" and not session.running
    assert session.with_trainer(operator.attrgetter("step_count")) == paused.step


def test_single_steps_give_the_numbers_of_a_run_in_a_thread(session):
    here = Session(CONFIG)
    try:
        for _ in range(5):
            session.step()
            here.step()
        session.step(1, 0)                       # a D step, then a G step, as the buttons do
        here.step(1, 0)
        session.step(0, 1)
        here.step(0, 1)
        theirs = session.with_trainer(operator.attrgetter("last_stats"))
        assert theirs == here.with_trainer(operator.attrgetter("last_stats"))
        assert theirs.step == 7 and session.snapshot().step == 7
    finally:
        here.stop()


def test_a_refusal_is_raised_here_with_its_field_and_words(session):
    session.step()
    with pytest.raises(ConfigError) as refused:
        session.update(lr_d=-5)
    assert refused.value.key == "lr_d" and refused.value.value == -5
    big = CONFIG.replace(dataset="digits", arch="dcgan", image_size=64, width=512, batch_size=1024)
    with pytest.raises(BudgetError) as over:
        session.reset(big)
    with pytest.raises(BudgetError) as same_here:
        Session(CONFIG).reset(big)
    assert str(over.value) == str(same_here.value) and over.value.key == "batch_size"
    assert session.snapshot().step == 1          # the refused reset changed nothing


def test_stop_ends_the_process_and_later_commands_do_nothing(session):
    session.step()
    pid = session.run_pid
    session.stop()
    assert not psutil.pid_exists(pid)       # ended and reaped
    assert session.start().code == "closed" and session.with_run(len) is None


def test_the_pages_handlers_work_through_the_pipe(tmp_path):
    registry = SessionRegistry(max_running=2, session_class=ProcessSession)
    visitors = Visitors(lesson="ring_stable")
    train, latent = TrainHandlers(registry, visitors), LatentHandlers(registry, visitors)
    request = SimpleNamespace(session_hash="visitor", query_params={})
    values = values_from_config(CONFIG)
    try:
        train.step(request, values)
        assert registry.get("visitor").has_run()
        exported = train.export(request, values)          # Downloads: functools.partial to the child
        names = {Path(f).name for f in exported["downloads"]}
        assert {"config.json", "metrics.csv", "checkpoint.safetensors"} <= names
        shown = train.show_frame(request, {"history_slider": 0})   # the History slider
        assert "data:image/png" in shown["history_view"] and "<p>step 0</p>" in shown["history_view"]
        model = latent._model(request, "run", None)               # the Latent tab's generator
        assert model.config == CONFIG and model(torch.zeros(4, CONFIG.z_dim)).shape == (4, 2)
    finally:
        registry.close("visitor")


def test_app_py_as_the_childs_main_module_builds_nothing():
    # multiprocessing imports `python app.py`'s file into every run's process as __mp_main__.
    probe = ("import runpy, sys; runpy.run_path('app.py', run_name='__mp_main__'); "
             "print('gradio' in sys.modules, 'demo' in dir())")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_a_run_process_that_dies_is_reported_and_the_next_command_starts_afresh(session):
    session.step()
    session.step()
    os.kill(session.run_pid, signal.SIGKILL)  # what the kernel's OOM killer would do
    wait_until(lambda: session.snapshot().notice.code == "run_process_ended", 20, "the page to be told")
    assert session.snapshot().state == "stopped" and not session.running
    assert session.step().code == "run_process_ended"     # this command learns it ...
    assert session.step().code == "stepped" and session.snapshot().step == 1   # ... the next is fresh
    assert "press Start or Step for a fresh one" in notice_text(Notice("run_process_ended"))


def test_edits_and_notices_before_any_run_cost_no_process(session):
    # A student who opens a lesson link and edits the controls, or whom the run cap refuses,
    # gets no process; the edits are in the run once there is one.
    assert session.update(lr_d=0.002, width=24).code == "applied"
    session.notify(Notice("cap_reached", (("count", 2),)))
    assert session.snapshot().notice.code == "cap_reached" and session.pause().code == "cap_reached"
    with pytest.raises(ConfigError):
        session.update(d_steps=2.5)
    assert session.run_pid is None and session.config.lr_d == 0.002
    session.step()
    config = session.with_trainer(operator.attrgetter("config"))
    assert (config.lr_d, config.width) == (0.002, 24)
