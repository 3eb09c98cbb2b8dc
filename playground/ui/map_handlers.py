"""The Stability map tab's handlers: fields to a map plan, the map's refresh, a click on a cell.

Handlers are `fn(request, values) -> dict` keyed by elem_id (ui/page.py). A visitor's map is a
playground.map_job.MapJob kept in the SessionRegistry under "<session hash>#map"
(SessionRegistry.start_job): it counts as ONE run against the cap and stops with the tab
(more_tabs.close_jobs). A refused field is named by its label ("X from: a number;
you typed 'abc'."), and so is a map over the server's caps.

A click on the picture (gr.Image's select event: the pixel) becomes the run drawn there
(map_picture.cell_at), and `open_cell` gives the Train tab that run's exact config (seed
included) as a fresh run, its controls' values and the switch to the Train tab.
"""
from __future__ import annotations

import math
from typing import Any

import gradio as gr

from ..config import ConfigError, get_preset, list_presets
from ..data import DataError
from ..map_job import MapJob, MapLimitError, MapSnapshot, map_limits, plan_map
from ..map_picture import PENDING, cell_at, map_picture
from ..outcomes import figure_text
from ..sweep import DEFAULT_X, DEFAULT_Y, MAX_AXIS_VALUES, MAX_SEEDS, SweepError, make_axis, spaced
from .controls import values_from_config
from .wording import label, number, refusal

JOB_SUFFIX = "#map"
DEFAULT_PRESET = "ring_map"
SEED_CHOICES = (1, 2, 3)
FIELD_LABELS = {"from": "from", "to": "to", "count": "values", "log": "log-spaced", "key": "knob"}
TICK_OUTPUTS = ("map_progress", "map_plot", "map_message", "map_cells", "map_timer", "map_sent")
NO_MAP = "Pick a lesson and two knobs, then press Start: the map fills in here, row by row."
IMAGE_DATA_FOR_MAPS = ("digits",)     # image data a map may use: no download, an MLP trains it


class FieldError(ValueError):
    """A field of the tab that is not allowed: its label and why, in plain words."""

    def __init__(self, field: str, why: str):
        self.field, self.why = field, why
        super().__init__(f"{field}: {why}")


def field_label(axis: str, part: str) -> str:
    """"X from", "Y values", ...: how the page names a field of an axis."""
    return f"{axis.upper()} {FIELD_LABELS[part]}"


def map_presets() -> list[tuple[str, str]]:
    """(title (name), name) of the lessons a map can use: MLPs on data that needs no download."""
    return [(f"{p.title} ({p.name})", p.name) for p in list_presets() if p.config.arch == "mlp"
            and (not p.config.is_image or p.config.dataset in IMAGE_DATA_FOR_MAPS)]


def axis_defaults(spec: str) -> dict[str, Any]:
    """The fields of one axis from a sweep spec ("lr_d=2.5e-4:8e-3:6:log")."""
    key, _, rest = spec.partition("=")
    lo, hi, count, *mode = rest.split(":")
    return {"key": key, "from": lo, "to": hi, "count": count, "log": mode == ["log"]}


def knob_range(key: str, value: float) -> dict[str, Any]:
    """A sensible range for a knob around the lesson's value: 4x either side, log-spaced for a
    positive value; 1 to 5 for the step counts; linear 0..1 around a zero."""
    if key in ("d_steps", "g_steps"):
        return {"from": "1", "to": "5", "count": "5", "log": False}
    if key == "seed":
        return {"from": "0", "to": "5", "count": "6", "log": False}
    if value and value > 0:
        return {"from": number(value / 4), "to": number(min(value * 4, 1e3)), "count": "5", "log": True}
    return {"from": "0", "to": "1", "count": "5", "log": False}


def _number(values: dict, axis: str, part: str) -> float:
    text = str(values.get(f"map_{axis}_{part}", "")).strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise FieldError(field_label(axis, part), f"a number; you typed {text!r}") from None
    if not math.isfinite(value):
        raise FieldError(field_label(axis, part), f"a finite number; you typed {text!r}")
    return value


def _integer(text: Any, field: str, low: int, high: int) -> int:
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and low <= value <= high):
        raise FieldError(field, f"an integer from {low} to {high}; you typed {str(text).strip()!r}")
    return int(value)


def read_axis(values: dict, axis: str):
    """The sweep.Axis of the fields of `axis` ("x" or "y"), or FieldError naming the field."""
    key = values.get(f"map_{axis}_key")
    lo, hi = _number(values, axis, "from"), _number(values, axis, "to")
    count = _integer(values.get(f"map_{axis}_count"), field_label(axis, "count"), 1, MAX_AXIS_VALUES)
    log = bool(values.get(f"map_{axis}_log"))
    if log and min(lo, hi) <= 0:
        bad = "from" if lo <= 0 else "to"
        raise FieldError(field_label(axis, bad), f"a number > 0 while {field_label(axis, 'log')} is ticked")
    try:
        return make_axis(key, spaced(lo, hi, count, log), ranged=True)
    except ConfigError as err:
        raise FieldError(f"{axis.upper()} from / to", f"{label(err.key)} {number(err.value)} is not "
                         f"allowed there: {err.allowed}") from None
    except SweepError as err:
        raise FieldError(field_label(axis, "count"), str(err)) from None


def read_plan(values: dict):
    """The map_job.MapPlan of the tab's fields, or FieldError naming the field by its label."""
    x, y = read_axis(values, "x"), read_axis(values, "y")
    if x.key == y.key:
        raise FieldError(field_label("y", "key"), f"a knob other than the X knob ({label(x.key)})")
    max_cells, max_steps = map_limits()
    steps = _integer(values.get("map_steps"), "Steps per cell", 1, max_steps)
    seeds = _integer(values.get("map_seeds", 1), "Seeds per cell", 1, MAX_SEEDS)
    try:
        return plan_map(values["map_preset"], x, y, seeds, steps, (max_cells, max_steps))
    except MapLimitError as err:
        runs = f"{len(x.values)} × {len(y.values)} × {seeds} = {err.value} runs"
        raise FieldError("X values × Y values × Seeds per cell",
                         f"{runs}; this server maps at most {err.limit} at a time") from None


class MapHandlers:
    """The Stability map tab's event handlers, bound to one SessionRegistry."""

    def __init__(self, registry, train_tab: str = "train"):
        self.registry = registry
        self.train_tab = train_tab

    def _job(self, request) -> MapJob | None:
        return self.registry.find(request.session_hash + JOB_SUFFIX)

    def load_lesson(self, request, values) -> dict:
        """A lesson's own steps in the Steps box (within the server's cap)."""
        try:
            preset = get_preset(values["map_preset"])
        except ConfigError as err:
            return {"map_message": refusal(err)}
        return {"map_steps": str(min(preset.steps, map_limits()[1]))}

    def knob(self, axis: str):
        """The handler for a new X / Y knob: a range around the lesson's value of it."""
        def changed(request, values) -> dict:
            key = values.get(f"map_{axis}_key")
            try:
                value = getattr(get_preset(values["map_preset"]).config, key)
            except (ConfigError, AttributeError, TypeError):
                return {}
            return {f"map_{axis}_{part}": v for part, v in knob_range(key, value).items()}
        changed.__name__ = f"knob_{axis}"
        return changed

    def start(self, request, values) -> dict:
        try:
            plan = read_plan(values)
        except (FieldError, ConfigError, SweepError) as err:
            return {"map_message": f"⚠️ {err}" if isinstance(err, FieldError) else refusal(err)}
        key = request.session_hash + JOB_SUFFIX
        job = self.registry.find(key) or MapJob()
        notice = self.registry.start_job(key, job, plan)
        if notice.code == "cap_reached":
            return {"map_message": f"{notice.get('count')} runs are already training on this server, "
                                   "the most it allows: try again shortly."}
        cells = len({(r.row, r.col) for r in plan.runs})
        return {"map_message": f"Mapping {cells} cells of {plan.steps} steps each: the map fills in "
                               "row by row. Click a cell to open it in the Train tab.",
                "map_timer": gr.Timer(active=True)}

    def stop(self, request, values) -> dict:
        job = self._job(request)
        if job is None or not job.running:
            return {"map_message": "No map is training."}
        job.pause()
        return {"map_message": "Stopped: the cells done stay on the map; Start makes a new one."}

    def tick(self, request, values) -> dict:
        job = self._job(request)
        snap = job.snapshot() if job is not None else MapSnapshot()
        out = map_tick(snap, values.get("map_sent"))
        if snap.state != "running":
            out["map_timer"] = gr.Timer(active=False)
        return out

    def open_cell(self, request, x: float, y: float) -> dict:
        """The cell at pixel (x, y) as a fresh run in the Train tab: {"controls": values by key,
        "message": the Train tab's message, "map_message": this tab's, "tabs": the switch}."""
        job = self._job(request)
        snap = job.snapshot() if job is not None else MapSnapshot()
        row = cell_at(snap.rows, x, y) if snap.plan is not None else None
        if row is None:
            return {"map_message": "Click a coloured square of the map to open that run in the Train tab."}
        config = snap.plan.config_at(row["row"], row["col"], row["replicate"])
        try:
            self.registry.get(request.session_hash).reset(config)
        except (ConfigError, DataError) as err:
            return {"map_message": refusal(err)}
        where = f"{label(row['x_key'])} {number(row['x'])}, {label(row['y_key'])} {number(row['y'])}"
        seen = "not mapped yet"
        if row["outcome"] != PENDING:
            figure = figure_text(row)
            seen = f"on the map: {row['outcome'].replace('_', ' ')}" + (f", {figure}" if figure else "")
        return {"controls": values_from_config(config),
                "message": f"Opened the map's cell {where} (seed {config.seed}; {seen}): fresh weights, "
                           "press Start.",
                "map_message": f"Opened {where} (seed {config.seed}) in the Train tab.",
                "tabs": gr.Tabs(selected=self.train_tab)}


# --- the refresh -----------------------------------------------------------------------------
def progress_html(snap: MapSnapshot) -> str:
    """A bar of the training done, and "cells N / M done" under it."""
    fraction = snap.steps_done / snap.steps_total if snap.steps_total else 0.0
    percent = round(100 * fraction)
    words = (f"cells {snap.cells_done} / {snap.cells_total} done · {percent} % of the training · "
             f"{snap.elapsed_s:.0f} s" if snap.cells_total else "press Start to map")
    state = {"done": " · finished", "stopped": " · stopped", "failed": " · failed"}.get(snap.state, "")
    return (f'<div role="progressbar" aria-valuemin="0" aria-valuemax="{snap.cells_total}" '
            f'aria-valuenow="{snap.cells_done}" aria-label="cells done" '
            'style="background:#e5e7eb;border-radius:6px;height:18px;overflow:hidden">'
            f'<div style="width:{percent}%;height:100%;background:#3b6fb6"></div></div>'
            f'<p class="map-progress-text" style="margin:4px 0 0 0">{words}{state}</p>')


def cells_markdown(snap: MapSnapshot) -> str:
    """The finished runs as a table: the two knobs, the seed, the outcome and the figures."""
    done = [r for r in snap.rows if r["outcome"] != PENDING]
    if not done:
        return "The cells' figures appear here as they finish."
    x_key, y_key = done[0]["x_key"], done[0]["y_key"]
    lines = [f"| {x_key} | {y_key} | seed | outcome | figure | high quality | D(x) | D(G(z)) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in done:
        outcome = r["outcome"].replace("_", " ")
        lines.append(f"| {number(r['x'])} | {number(r['y'])} | {r['seed']} | {outcome} "
                     f"| {figure_text(r)} | {_fixed(r.get('high_quality'))} | {_fixed(r.get('d_real'))} "
                     f"| {_fixed(r.get('d_fake'))} |")
    return "\n".join(lines)


def _fixed(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and math.isfinite(value) else ""


def finished_text(snap: MapSnapshot) -> str:
    counts: dict[str, int] = {}
    for r in snap.rows:
        if r["outcome"] != PENDING:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    summary = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
    what = {"done": "The map is finished", "stopped": "The map was stopped",
            "failed": f"The map could not go on ({snap.notice.get('why')})"}[snap.state]
    return (f"{what} after {snap.elapsed_s:.0f} s: {summary or 'no cell finished'}. "
            "Click a cell to open that run in the Train tab.")


def map_tick(snap: MapSnapshot, sent: dict | None) -> dict[str, Any]:
    """{elem_id: new value} for what changed since `sent`, and the new `sent`."""
    before, now, out = dict(sent or {}), {}, {}

    def changed(name: str, key: Any) -> bool:
        now[name] = key
        return before.get(name, ()) != key

    bar = progress_html(snap)
    if changed("progress", bar):
        out["map_progress"] = bar
    if changed("rows", snap.version) and snap.rows:
        out["map_plot"] = map_picture(snap.rows, snap.plan.base.to_dict())
        out["map_cells"] = cells_markdown(snap)
    if changed("state", snap.state) and snap.state in ("done", "stopped", "failed"):
        out["map_message"] = finished_text(snap)
    out["map_sent"] = now
    return out


__all__ = ["DEFAULT_X", "DEFAULT_Y", "FieldError", "MapHandlers", "axis_defaults", "map_presets",
           "read_plan"]
