"""The Compare tab's layout: two runs, A and B, that differ in the knobs the visitor picks.

Laid out like the Train tab, for a projector: the lesson picker, the buttons and the status on
one row, the one-line diff of B against A under it, then the two samples views side by side
next to the gradient norms (A solid, B dashed, D blue, G orange), D(x) / D(G(z)) and quality
below, and the two columns of knobs (A | B) last, so they never push the views down. The knobs
are ui/controls.py's (same labels and widgets) with ids compare_a_<key> / compare_b_<key>.
Its own gr.Timer refreshes the tab while A and B train and switches itself off after.
Handlers are in compare_handlers.py.
"""
from __future__ import annotations

import gradio as gr

from .. import charts
from ..compare import comparison_names, read_comparison
from ..config import LIVE_KEYS, rule
from .compare_handlers import (BLANK, COMPARE_KEYS, SIDES, TICK_OUTPUTS, CompareHandlers, box_id,
                               column_ids, column_values, diff_line)
from .controls import CONTROLS
from .page import Page

DEFAULT_LESSON = "compare_saturation"
TICK_S = 1.0
QUICK = dict(show_progress="hidden")


def _lesson_choices() -> list[tuple[str, str]]:
    """(title (name), name) of every comparison lesson: labels shown, names are the values."""
    return [(f"{read_comparison(name)[0].title} ({name})", name) for name in comparison_names()]


def _column(page: Page, side: str, values: dict) -> None:
    """One column of knobs: the Train tab's controls, made again with this column's ids."""
    gr.Markdown(f"**Run {side.upper()}**" + (" (solid lines)" if side == "a" else " (dashed lines)"))
    for control in CONTROLS:
        if control.key in COMPARE_KEYS:
            when = "changes apply at once" if control.key in LIVE_KEYS else "at the next Start"
            hint = rule(control.key) if control.typed else ""
            info = " · ".join(part for part in (hint, when) if part)
            page.add(control.make(control.label, values[box_id(side, control.key)], info,
                                  box_id(side, control.key)))


def build_compare_tab(handlers: CompareHandlers) -> Page:
    """The Compare tab's components and events (inside an open gr.Tab); returns its Page."""
    page = Page()
    preset, a, b = read_comparison(DEFAULT_LESSON)
    values = {**column_values(a, "a"), **column_values(b, "b")}
    with gr.Row(equal_height=True):
        page.add(gr.Dropdown(_lesson_choices(), value=DEFAULT_LESSON, label="Comparison",
                             elem_id="compare_preset", scale=2, min_width=220))
        with gr.Row(scale=3):
            page.add(gr.Button("Start", variant="primary", elem_id="compare_start", min_width=70))
            page.add(gr.Button("Pause", elem_id="compare_pause", min_width=70))
            page.add(gr.Button("Copy A to B", elem_id="compare_copy", min_width=90))
        page.add(gr.Textbox("idle · step 0", label="Status", elem_id="compare_status",
                            interactive=False, scale=3, min_width=260))
    page.add(gr.Markdown(diff_line(a, b), elem_id="compare_diff"))
    page.add(gr.Markdown("", elem_id="compare_message"))
    blank = charts.empty_figure(BLANK)
    with gr.Row(equal_height=True):
        with gr.Column(scale=1, min_width=300):
            page.add(gr.HTML(f"<p>{BLANK}</p>", label="Samples: A | B", show_label=True,
                             container=True, min_height=300, elem_id="compare_samples"))
        with gr.Column(scale=1, min_width=300):
            page.add(gr.Plot(blank, label="Gradient norms: A solid, B dashed", elem_id="compare_grad_plot"))
    page.add(gr.Markdown("", elem_id="compare_findings"))
    with gr.Row():
        page.add(gr.Plot(blank, label="D(x) and D(G(z)): A solid, B dashed", elem_id="compare_prob_plot"))
        page.add(gr.Plot(blank, label="Quality: A solid, B dashed", elem_id="compare_quality_plot"))
    with gr.Accordion("The knobs of A and B (the rest is the lesson's)", open=True):
        with gr.Row():
            for side in SIDES:
                with gr.Column(min_width=260):
                    _column(page, side, values)
    with gr.Accordion("About this comparison", open=False):
        page.add(gr.Markdown(f"### {preset.title}\n{preset.summary}\n\n{preset.lesson}",
                             elem_id="compare_lesson"))
    page.add(gr.Timer(TICK_S, active=False), name="compare_timer")
    page.add(gr.State(None), name="compare_sent")
    _bind(page, handlers)
    return page


def _bind(page: Page, handlers: CompareHandlers) -> None:
    """Every event of the tab: which handler, which inputs, which outputs."""
    every = ("compare_preset",) + column_ids("a") + column_ids("b")
    both = column_ids("a") + column_ids("b")
    page.on(page["compare_preset"].change, handlers.load_lesson, ["compare_preset"],
            both + ("compare_diff", "compare_lesson", "compare_message"), **QUICK)
    for side in SIDES:
        boxes = column_ids(side)
        triggers = [page[i].input for i in boxes] + [page[i].submit for i in boxes
                                                     if isinstance(page[i], gr.Textbox)]
        page.on(triggers, handlers.edit(side), every, ("compare_diff", "compare_message"),
                trigger_mode="always_last", **QUICK)
    page.on(page["compare_copy"].click, handlers.copy_a_to_b, every,
            column_ids("b") + ("compare_diff", "compare_message"), **QUICK)
    page.on(page["compare_start"].click, handlers.start, every,
            ("compare_message", "compare_diff", "compare_timer"), api_name="compare_start", **QUICK)
    page.on(page["compare_pause"].click, handlers.pause, (), ("compare_message",),
            api_name="compare_pause", **QUICK)
    page.on(page["compare_timer"].tick, handlers.tick, ["compare_sent"], TICK_OUTPUTS,
            concurrency_limit=None, **QUICK)
