"""playground.map_job, the map picture and the Stability map tab's handlers.

A map job trains its chunks one by one in a background thread: progress reaches the total,
every cell gets an outcome, the picture fills in chunk by chunk, a pixel of the picture maps
back to its cell and that cell's exact config (seed included) opens in the Train tab; the
server's caps are refused naming the field by its label; a map is one run against the cap and
stops when its tab closes.
"""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from bench.common import wait_until
from playground.config import get_preset
from playground.map_job import MapJob, MapLimitError, plan_map
from playground.map_picture import CELL, MARGIN, PENDING, TOP, cell_at, map_picture
from playground.outcomes import OUTCOMES
from playground.registry import SessionRegistry
from playground.sweep import SEED_STRIDE, parse_axis
from playground.ui.map_handlers import MapHandlers, axis_defaults, map_tick, read_plan
from playground.ui.more_tabs import close_jobs

X = parse_axis("--x", "lr_d=5e-4,1e-3,2e-3")
Y = parse_axis("--y", "lr_g=1e-3,2e-3,4e-3")
STEPS = 40


def fields(**changes) -> dict:
    """The tab's fields for a 3 x 3 map of ring_map, as the page sends them (text boxes)."""
    values = {"map_preset": "ring_map", "map_steps": str(STEPS), "map_seeds": 1,
              "map_x_key": "lr_d", "map_x_from": "5e-4", "map_x_to": "2e-3", "map_x_count": "3",
              "map_x_log": True, "map_y_key": "lr_g", "map_y_from": "1e-3", "map_y_to": "4e-3",
              "map_y_count": "3", "map_y_log": True}
    return {**values, **changes}


def map_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gan-map")



@pytest.fixture
def registry():
    registry = SessionRegistry(max_running=2)
    registry.on_close(close_jobs(registry))
    yield registry
    for key in registry.keys():                  # test cleanup: every job and run
        registry.close(key)


def centre(row: int, col: int, rows: int) -> tuple[int, int]:
    """The pixel at the centre of square (row, col) of a map with `rows` rows."""
    return MARGIN + CELL * col + CELL // 2, TOP + CELL * (rows - 1 - row) + CELL // 2


# --- the plan --------------------------------------------------------------------------------
def test_plan_maps_cells_to_configs_with_their_seeds():
    plan = plan_map("ring_map", X, Y, seeds=2, steps=STEPS, limits=(64, 3000))
    base = get_preset("ring_map").config
    assert len(plan.runs) == 18 and [len(c) for c in plan.chunks] == [6, 6, 6]   # a row a chunk
    config = plan.config_at(row=2, col=1, replicate=1)
    assert (config.lr_d, config.lr_g, config.seed) == (1e-3, 4e-3, base.seed + SEED_STRIDE)
    assert config.replace(lr_d=base.lr_d, lr_g=base.lr_g, seed=base.seed) == base
    assert all(r["outcome"] == PENDING for r in plan.pending_rows())


def test_caps_are_refused_before_anything_trains():
    with pytest.raises(MapLimitError) as cells:
        plan_map("ring_map", X, Y, seeds=1, steps=STEPS, limits=(8, 3000))
    assert (cells.value.field, cells.value.value, cells.value.limit) == ("cells", 9, 8)
    with pytest.raises(MapLimitError) as steps:
        plan_map("ring_map", X, Y, seeds=1, steps=5000, limits=(64, 3000))
    assert steps.value.field == "steps"


@pytest.mark.parametrize("env, changes, words", [
    ({"GAN_PLAYGROUND_MAP_MAX_CELLS": "8"}, {}, "X values × Y values × Seeds per cell: 3 × 3 × 1 = 9 runs; "
                                               "this server maps at most 8"),
    ({"GAN_PLAYGROUND_MAP_MAX_STEPS": "100"}, {"map_steps": "500"}, "Steps per cell: an integer from 1 to 100; "
                                                                    "you typed '500'"),
    ({}, {"map_x_from": "abc"}, "X from: a number; you typed 'abc'"),
    ({}, {"map_y_count": "2.5"}, "Y values: an integer from 1 to 24"),
    ({}, {"map_y_from": "0"}, "Y from: a number > 0 while Y log-spaced is ticked"),
    ({}, {"map_x_to": "3", "map_x_log": False}, "X from / to: Learning rate of D (lr_d) 1.50025 is not "
                                                "allowed there: a number > 0 and <= 1"),
    ({}, {"map_y_key": "lr_d"}, "Y knob: a knob other than the X knob"),
])
def test_refusals_name_the_field_by_its_label(monkeypatch, registry, env, changes, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = MapHandlers(registry).start(SimpleNamespace(session_hash="v"), fields(**changes))
    assert words in out["map_message"] and out["map_message"].startswith("⚠️")
    assert registry.find("v#map") is None and map_threads() == 0


def test_axis_fields_hold_the_default_map():
    assert axis_defaults("lr_d=2.5e-4:8e-3:6:log") == {"key": "lr_d", "from": "2.5e-4", "to": "8e-3",
                                                       "count": "6", "log": True}
    plan = read_plan(fields(map_x_from="2.5e-4", map_x_to="8e-3", map_x_count="6", map_y_count="1"))
    assert plan.x.values == (2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3) and plan.y.values == (1e-3,)


# --- the picture --------------------------------------------------------------------------------
def test_a_pixel_maps_back_to_its_cell_and_stripe():
    plan = plan_map("ring_map", X, Y, seeds=2, steps=STEPS, limits=(64, 3000))
    rows = plan.pending_rows()
    picture = map_picture(rows, plan.base.to_dict())
    assert picture.width > MARGIN + 3 * CELL and picture.height > TOP + 3 * CELL
    for row in range(3):
        for col in range(3):
            x, y = centre(row, col, 3)
            left, right = cell_at(rows, x - CELL // 4, y), cell_at(rows, x + CELL // 4, y)
            assert (left["row"], left["col"], left["replicate"]) == (row, col, 0)
            assert (right["row"], right["col"], right["replicate"]) == (row, col, 1)
    assert cell_at(rows, 3, 3) is None and cell_at(rows, MARGIN + 3 * CELL + 20, TOP + 5) is None


# --- the job ------------------------------------------------------------------------------------
def test_the_map_fills_in_chunk_by_chunk_to_the_total(registry):
    job = MapJob()
    plan = plan_map("ring_map", X, Y, seeds=1, steps=STEPS, limits=(64, 3000))
    assert registry.start_job("v#map", job, plan).code == "map_started"
    seen_done = set()
    while job.running:
        seen_done.add(job.snapshot().cells_done)
        time.sleep(0.02)
    snap = job.snapshot()
    assert snap.state == "done" and map_threads() == 0
    assert (snap.cells_done, snap.cells_total, snap.steps_done, snap.steps_total) == (9, 9, 9 * STEPS, 9 * STEPS)
    assert {3, 6} & seen_done                  # it filled in row by row, not all at once
    assert all(r["outcome"] in OUTCOMES and r["steps"] == STEPS for r in snap.rows)
    out = map_tick(snap, None)
    assert 'aria-valuenow="9"' in out["map_progress"] and "cells 9 / 9 done" in out["map_progress"]
    assert out["map_plot"].size == map_picture(snap.rows).size and "finished" in out["map_message"]


def test_stopping_and_closing_end_the_map(registry):
    job = MapJob()
    plan = plan_map("ring_map", X, Y, seeds=1, steps=3000, limits=(64, 3000))
    registry.start_job("v#map", job, plan)
    wait_until(lambda: job.snapshot().steps_done > 0, 60, "some training")
    assert job.pause().code == "map_stopped" and job.snapshot().state == "stopped"
    assert map_threads() == 0
    registry.start_job("v#map", job, plan)
    assert job.running
    registry.close("v")                         # the tab closed: its map stops with it
    assert not job.running and registry.find("v#map") is None and map_threads() == 0


def test_a_map_is_one_run_against_the_cap(registry):
    registry.max_running = 1
    job = MapJob()
    registry.start_job("v#map", job, plan_map("ring_map", X, Y, 1, 3000, limits=(64, 3000)))
    assert registry.running_count() == 1
    out = MapHandlers(registry).start(SimpleNamespace(session_hash="w"), fields())
    assert "already training on this server" in out["map_message"]
    assert registry.start("w", get_preset("ring_map").config).code == "cap_reached"


def test_a_click_opens_the_cells_config_in_the_train_tab(registry):
    handlers, request = MapHandlers(registry, train_tab="train"), SimpleNamespace(session_hash="v")
    assert "map_timer" in handlers.start(request, fields(map_steps="20"))
    job = registry.find("v#map")
    wait_until(lambda: not job.running, 120, "the map to finish")
    x, y = centre(row=1, col=2, rows=3)
    out = handlers.open_cell(request, x, y)
    assert (out["controls"]["lr_d"], out["controls"]["lr_g"]) == ("0.002", "0.002")
    assert out["tabs"].selected == "train" and "fresh weights, press Start" in out["message"]
    opened = registry.get("v").config
    assert opened == job.snapshot().plan.config_at(1, 2) and opened.seed == get_preset("ring_map").config.seed
    missed = handlers.open_cell(request, 2, 2)
    assert "controls" not in missed and "Click a coloured square" in missed["map_message"]
