"""Every public handler of the app, fed generated junk: no unhandled exception, a message that
names the field, and the session still trains afterwards.

Seeded, >= 500 inputs per run. Each input starts from a tiny valid config and breaks one or two
fields with values a visitor (or a script talking to the API) could send: NaN, infinities,
negatives, zero, huge integers, text where numbers belong, empty values, unknown choices.
"""
from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

from playground.config import ConfigError, TrainConfig, coerce
from playground.registry import SessionRegistry
from playground.ui.controls import KEYS, values_from_config
from playground.ui.latent_handlers import LatentHandlers
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors
from playground.ui.wording import label
from latent_calls import check, slide, walk

INPUTS = 520
TINY = TrainConfig(width=8, depth=1, batch_size=16, z_dim=2)
JUNK = [math.nan, math.inf, -math.inf, -1, -1e-3, 0, 0.0, 10**12, 2**63, 1e308, -10**9, "abc", "",
        " ", None, "NaN", "1e-3", "0x10", True, False, [], {}, "ring; rm -rf /", "../../etc/passwd",
        "mlp", "dcgan", "hinge", "bogus", 3.5, 7, 1, 2, 0.5, "😀", "1" * 400]
TRAIN_EVENTS = ("update", "start", "step", "d_step", "g_step", "reset")



def is_valid(key: str, value) -> bool:
    try:
        coerce(key, value)
        return True
    except ConfigError:
        return False


@pytest.fixture
def app():
    registry, visitors = SessionRegistry(max_running=2), Visitors()
    yield TrainHandlers(registry, visitors), LatentHandlers(registry, visitors), registry
    registry.close("fuzz")


def broken_values(rng: random.Random) -> tuple[dict, list[str]]:
    """Controls' values for TINY with one or two fields replaced by junk; the keys broken."""
    values = values_from_config(TINY)
    keys = rng.sample(KEYS, rng.choice((1, 2)))
    for key in keys:
        values[key] = rng.choice(JUNK)
    return values, [k for k in keys if not is_valid(k, values[k])]


def test_fuzz_every_handler(app):
    train, latent, registry = app
    rng = random.Random(20261122)
    request = SimpleNamespace(session_hash="fuzz")
    tried = 0
    for index in range(INPUTS):
        kind = rng.random()
        if kind < 0.7:
            values, bad = broken_values(rng)
            event = rng.choice(TRAIN_EVENTS)
            message = getattr(train, event)(request, values).get("message", "")   # {}: nothing changed
            assert isinstance(message, str), (event, values)
            if bad:
                # The config layer refused: the message names one of the broken fields.
                assert any(label(key) in message for key in bad), (event, bad, message)
            train.pause(request, {})
        elif kind < 0.8:
            name = rng.choice(JUNK + ["ring_stable", "digits_mlp"])
            out = train.load_preset(request, {"preset": name})
            assert isinstance(out["message"], str) and ("lesson" in out or "preset" in out)
        elif kind < 0.93:
            source = rng.choice(["session", "upload", "bogus", None, ""])
            upload = rng.choice([None, "", "/etc/passwd", "x.safetensors", "../../a.safetensors"])
            out = walk(latent, request, source, upload, rng.choice(JUNK), rng.choice(JUNK),
                                     rng.choice(JUNK), rng.choice(JUNK + ["lerp", "slerp"]))
            assert isinstance(out[0], str)
        else:
            dims = [rng.choice(JUNK) for _ in range(4)]
            out = slide(latent, request, rng.choice(["session", "upload"]), None, rng.choice(JUNK), *dims)
            assert isinstance(out[0], str)
        tried += 1
        registry.get("fuzz").snapshot()                       # readable after every input
        if index % 50 == 49:                                  # and still trains
            train.reset(request, values_from_config(TINY))
            before = registry.get("fuzz").snapshot().step
            assert "done" in train.step(request, values_from_config(TINY))["message"]
            assert registry.get("fuzz").snapshot().step == before + 1
    assert tried >= 500
    train.reset(request, values_from_config(TINY))
    assert "done" in train.step(request, values_from_config(TINY))["message"]
