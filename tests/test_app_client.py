"""The real app on a local port, driven by gradio_client: two visitors, two isolated runs, and a
closed visitor's trainer thread stops (demo.unload, fired when the heartbeat finds it gone)."""
from __future__ import annotations

import re

import psutil
import pytest

gradio_client = pytest.importorskip("gradio_client")

from bench.common import control_args, free_port, trainer_threads, wait_until  # noqa: E402
from playground.config import TrainConfig  # noqa: E402
from playground.registry import SessionRegistry  # noqa: E402
from playground.ui.app import build_app  # noqa: E402

TINY = TrainConfig(width=16, depth=2, batch_size=32)


def step_of(client) -> int:
    """The step in the status the page would show (-1 when the tick had nothing new to send)."""
    status = client.predict(None, api_name="/tick")[0]      # the argument: the lesson question
    found = re.search(r"step (\d+)", status) if isinstance(status, str) else None
    return int(found.group(1)) if found else -1




def message(result) -> str:
    """An endpoint's first output is the message area."""
    return result[0] if isinstance(result, (list, tuple)) else result


@pytest.fixture
def app(monkeypatch):
    # Gradio reads the heartbeat interval per connection: a short one makes unload fire fast.
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.3")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    registry = SessionRegistry(max_running=4)
    demo = build_app(registry)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/", registry
    demo.close()


def test_two_visitors_are_isolated_and_closing_one_stops_its_thread(app):
    url, registry = app
    before = trainer_threads()
    first = gradio_client.Client(url, verbose=False, download_files=False)
    second = gradio_client.Client(url, verbose=False, download_files=False)
    try:
        assert message(first.predict(*control_args(first, "/start", TINY.replace(seed=1)), api_name="/start")) == "Training."
        assert message(second.predict(*control_args(second, "/start", TINY.replace(seed=2, lr_d=0.0005)),
                                      api_name="/start")) == "Training."
        wait_until(lambda: step_of(first) > 20 and step_of(second) > 20, 15, "both runs to advance")
        assert registry.running_count() == 2 and trainer_threads() == before + 2
        one, two = registry.get(first.session_hash), registry.get(second.session_hash)
        assert (one.trainer.config.seed, one.trainer.config.lr_d) == (1, 0.001)
        assert (two.trainer.config.seed, two.trainer.config.lr_d) == (2, 0.0005)
        # A live edit reaches only its own session.
        assert "is now 0.0003" in message(first.predict(*control_args(first, "/update", TINY.replace(seed=1, lr_g=0.0003)),
                                                        api_name="/update"))
        wait_until(lambda: one.trainer.config.lr_g == 0.0003, 5, "the live edit")
        assert two.trainer.config.lr_g == 0.001

        second.close()          # stops its heartbeat: the server sees the tab gone
        wait_until(lambda: registry.running_count() == 1, 15, "the closed visitor's run to stop")
        wait_until(lambda: trainer_threads() == before + 1, 5, "its thread to exit")
        assert len(registry) == 1 and two.trainer is None
        still = step_of(first)
        wait_until(lambda: step_of(first) > still + 10, 10, "the other run to keep training")
    finally:
        first.close()
        second.close()
        registry.close(first.session_hash)
        registry.close(second.session_hash)


@pytest.fixture
def served(monkeypatch):
    """The app exactly as app.py serves it (ui/app.served_app): runs in their own processes."""
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.3")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    from playground.ui.app import served_app
    demo = served_app()
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/", demo.registry
    demo.close()


def test_the_served_app_trains_a_visitors_run_in_its_own_process(served):
    url, registry = served
    before = trainer_threads()
    client = gradio_client.Client(url, verbose=False, download_files=False)
    try:
        assert message(client.predict(*control_args(client, "/start", TINY), api_name="/start")) == "Training."
        wait_until(lambda: step_of(client) > 20, 60, "the run to advance")
        session = registry.get(client.session_hash)
        pid = session.run_pid
        assert psutil.pid_exists(pid) and trainer_threads() == before   # no thread here
        client.close()          # the tab is gone: the run stops, and its process ends
        wait_until(lambda: not psutil.pid_exists(pid), 20, "the closed visitor's process to end")
        assert len(registry) == 0
    finally:
        client.close()
        registry.close(client.session_hash)
