"""What the handler tests share: tiny configs, the `ui` fixture (train and latent handlers on a
registry of in-thread Sessions, every session closed afterwards) and small helpers that speak
the page's own ids."""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest

from playground.config import TrainConfig
from playground.registry import SessionRegistry
from playground.ui import tick as page_tick
from playground.ui.controls import values_from_config
from playground.ui.latent_handlers import LatentHandlers
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors

TINY = TrainConfig(width=16, depth=2, batch_size=32, seed=3)
TINY_DIGITS = TrainConfig(dataset="digits", image_size=8, width=16, depth=2, batch_size=32, z_dim=8)



@pytest.fixture
def ui():
    """(train handlers, latent handlers, request factory); closes every session afterwards."""
    registry = SessionRegistry(max_running=4)
    visitors = Visitors(lesson="ring_stable")
    registry.on_close(visitors.forget)
    names: list[str] = []

    def request(name: str = "a"):
        names.append(name)
        return SimpleNamespace(session_hash=name)

    yield TrainHandlers(registry, visitors), LatentHandlers(registry, visitors), request
    for name in set(names):
        registry.close(name)


def values(config: TrainConfig, **raw) -> dict:
    """The controls' values for `config` by id, with raw overrides that may be invalid."""
    return {**values_from_config(config), **raw}


def unwrap(output):
    """A plain value, or the value inside a gr.update(...)."""
    return output.get("value") if isinstance(output, dict) else output


def tick(train, req, sent=None) -> dict:
    return page_tick.tick(train.registry.get(req.session_hash).snapshot(), sent)


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
