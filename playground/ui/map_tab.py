"""The Stability map tab's layout: a lesson, two knobs with ranges, Start, and the map filling in.

On one side the lesson, Start / Stop, the X and Y knobs with their ranges, steps and seeds per
cell; on the other the progress bar over the cells, a line of news and the map itself (colour
= outcome, a legend, each square's headline figure), so on a 1280x720 projector the bar and a
6 x 6 map are on the first screen together; the cells' figures are in a table under the map. The picture is
a gr.Image because gr.Plot has no click event in Gradio 6.31: its `select` event gives the
pixel, which map_picture.cell_at turns into the run drawn there, and a click opens that exact
config (same seed) in the Train tab as a fresh run: the Train tab's controls are set (its Page,
ui/controls.KEYS) and the app's gr.Tabs switches to it. Handlers are in map_handlers.py.
"""
from __future__ import annotations

import gradio as gr

from ..config import FIELD_TYPES, get_preset
from ..map_job import MapSnapshot, map_limits
from ..sweep import AXIS_KEYS
from .controls import KEYS, LABELS, labelled
from .map_handlers import (DEFAULT_PRESET, DEFAULT_X, DEFAULT_Y, NO_MAP, SEED_CHOICES, TICK_OUTPUTS,
                           MapHandlers, axis_defaults, field_label, map_presets, progress_html)
from .page import Page

TICK_S = 1.0
NUMBER_KEYS = tuple(k for k in AXIS_KEYS if FIELD_TYPES[k] in ("float", "int"))   # a range of numbers
QUICK = dict(show_progress="hidden")
# The picture is shown at its own size or smaller, never blown up: a click's pixel is then the
# picture's pixel (Gradio's select event assumes so), and the squares stay sharp.
CSS = "#map_plot img { object-fit: contain; max-width: 100%; width: auto; height: auto; }"


def _axis_fields(page: Page, axis: str, spec: str) -> None:
    """The knob of one axis, its range and its spacing."""
    values = axis_defaults(spec)
    page.add(gr.Dropdown(labelled(LABELS, NUMBER_KEYS), value=values["key"],
                         label=field_label(axis, "key"), elem_id=f"map_{axis}_key"))
    with gr.Row():
        page.add(gr.Textbox(values["from"], label=field_label(axis, "from"), max_lines=1,
                            elem_id=f"map_{axis}_from", min_width=80))
        page.add(gr.Textbox(values["to"], label=field_label(axis, "to"), max_lines=1,
                            elem_id=f"map_{axis}_to", min_width=80))
        page.add(gr.Textbox(values["count"], label=field_label(axis, "count"), max_lines=1,
                            elem_id=f"map_{axis}_count", min_width=60))
    page.add(gr.Checkbox(values["log"], label=field_label(axis, "log"), elem_id=f"map_{axis}_log"))


def build_map_tab(handlers: MapHandlers, train_page: Page, tabs: gr.Tabs) -> Page:
    """The Stability map tab (inside an open gr.Tab); clicks land in `train_page`'s controls and
    switch `tabs` to the Train tab. Returns the tab's Page."""
    page = Page()
    max_cells, max_steps = map_limits()
    gr.HTML("", head=f"<style>{CSS}</style>", visible="hidden", elem_id="map_style")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            page.add(gr.Dropdown(map_presets(), value=DEFAULT_PRESET, label="Lesson (its data and networks)",
                                 elem_id="map_preset"))
            with gr.Row():
                page.add(gr.Button("Start", variant="primary", elem_id="map_start", min_width=70))
                page.add(gr.Button("Stop", elem_id="map_stop", min_width=70))
            with gr.Group():
                _axis_fields(page, "x", DEFAULT_X)
            with gr.Group():
                _axis_fields(page, "y", DEFAULT_Y)
            with gr.Row():
                steps = str(min(get_preset(DEFAULT_PRESET).steps, max_steps))
                page.add(gr.Textbox(steps, label="Steps per cell", max_lines=1, elem_id="map_steps",
                                    info=f"1 to {max_steps} on this server", min_width=100))
                page.add(gr.Dropdown(list(SEED_CHOICES), value=1, label="Seeds per cell",
                                     elem_id="map_seeds", min_width=80,
                                     info=f"at most {max_cells} runs a map"))
        with gr.Column(scale=2, min_width=320):
            page.add(gr.HTML(progress_html(MapSnapshot()), elem_id="map_progress"))
            page.add(gr.Markdown(NO_MAP, elem_id="map_message"))
            page.add(gr.Image(None, type="pil", format="png", interactive=False, label="Stability map",
                              show_label=False, buttons=["download"], placeholder=NO_MAP,
                              elem_id="map_plot"))
            with gr.Accordion("The cells in numbers", open=False):
                page.add(gr.Markdown("", elem_id="map_cells"))
    page.add(gr.Timer(TICK_S, active=False), name="map_timer")
    page.add(gr.State(None), name="map_sent")
    _bind(page, handlers, train_page, tabs)
    return page


def _bind(page: Page, handlers: MapHandlers, train_page: Page, tabs: gr.Tabs) -> None:
    fields = ["map_preset", "map_steps", "map_seeds"] + [f"map_{a}_{p}" for a in "xy"
                                                         for p in ("key", "from", "to", "count", "log")]
    page.on(page["map_preset"].change, handlers.load_lesson, ["map_preset"],
            ("map_steps", "map_message"), **QUICK)
    for axis in "xy":
        page.on(page[f"map_{axis}_key"].input, handlers.knob(axis), ["map_preset", f"map_{axis}_key"],
                [f"map_{axis}_{p}" for p in ("from", "to", "count", "log")], **QUICK)
    page.on(page["map_start"].click, handlers.start, fields, ("map_message", "map_timer"),
            api_name="map_start", **QUICK)
    page.on(page["map_stop"].click, handlers.stop, (), ("map_message",), api_name="map_stop", **QUICK)
    page.on(page["map_timer"].tick, handlers.tick, ["map_sent"], TICK_OUTPUTS,
            concurrency_limit=None, **QUICK)
    _bind_click(page, handlers, train_page, tabs)


def _bind_click(page: Page, handlers: MapHandlers, train_page: Page, tabs: gr.Tabs) -> None:
    """A click on the picture: Gradio passes gr.SelectData by annotation, which Page.on's
    `fn(request, values)` cannot carry, so this one event is bound by hand."""
    controls = [train_page[k] for k in KEYS]
    outputs = controls + [train_page["message"], page["map_message"], tabs]

    def clicked(evt: gr.SelectData, request: gr.Request) -> dict:
        x, y = (evt.index or (None, None))[:2]
        out = handlers.open_cell(request, x, y) if x is not None else {}
        result = {page["map_message"]: out.get("map_message", gr.skip())}
        if "controls" in out:
            result.update({train_page[k]: v for k, v in out["controls"].items()})
            result.update({train_page["message"]: out["message"], tabs: out["tabs"]})
        return result

    page["map_plot"].select(clicked, None, outputs, **QUICK)
