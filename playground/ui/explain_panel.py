"""Slow motion on the Train tab: "Explain one step" walks through one real training step.

The step is the run's own (Session.explain -> explain.explain_step): a real batch and a fake
batch are drawn; D updates (its heatmap before -> after); G updates (the fakes move along their
gradient arrows). Each phase is shown with its one-sentence caption, on Next / Previous or
advancing by itself every AUTO_S seconds. The phases live in the page's gr.State (small numpy
arrays), so stepping through them costs the server one figure each and no training.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from ..charts.explain import phase_figure, phase_image
from ..field import extent_of
from .page import Page
from .wording import notice_text

AUTO_S = 2.5
TITLES = {"batch": "1 · the batches", "d_update": "2 · D learns", "g_update": "3 · G learns"}
OUTPUTS = ("explain_plot", "explain_image", "explain_caption", "explain_state", "explain", "message")
PHASE_OUTPUTS = OUTPUTS[:4]             # Next and Previous change only the phase shown


def build_explain_panel(page: Page) -> None:
    """The slow-motion view (inside the Train tab's main column)."""
    with page.add(gr.Accordion("Slow motion: one step, explained", open=False, elem_id="explain")):
        with gr.Row():
            page.add(gr.Button("◀ Previous", elem_id="explain_prev", size="sm"))
            page.add(gr.Button("Next ▶", elem_id="explain_next", size="sm"))
            page.add(gr.Checkbox(False, label=f"advance by itself (every {AUTO_S:g} s)",
                                 elem_id="explain_auto"))
        page.add(gr.Markdown("Press **Explain one step** (below the views) to take one step in "
                             "slow motion.", elem_id="explain_caption"))
        page.add(gr.Plot(label="The step, phase by phase", elem_id="explain_plot", visible=False))
        page.add(gr.Image(label="The step, phase by phase", type="pil", interactive=False,
                          elem_id="explain_image", visible=False))
    page.add(gr.State(None), name="explain_state")
    page.add(gr.Timer(AUTO_S, active=False), name="explain_timer")


class ExplainHandlers:
    """Explain, Next, Previous, auto-advance."""

    def __init__(self, registry):
        self.registry = registry

    def explain(self, request, values) -> dict:
        session = self.registry.get(request.session_hash)
        notice, phases = session.explain()
        if not phases:
            return {"message": notice_text(notice)}
        real = session.snapshot().real
        state = {"phases": phases, "index": 0, "real": real,
                 "extent": extent_of(real) if real is not None else None}
        # The panel opens itself: the step is explained below the views, out of sight when closed.
        return {**show(state), "explain": gr.update(open=True), "message": notice_text(notice)}

    def move(self, by: int):
        def handler(request, values) -> dict:
            state = values.get("explain_state")
            if not state:
                return {}
            index = max(0, min(len(state["phases"]) - 1, state["index"] + by))
            return show({**state, "index": index})
        handler.__name__ = "explain_next" if by > 0 else "explain_prev"
        return handler

    @staticmethod
    def auto(request, values) -> dict:
        return {"explain_timer": gr.Timer(active=bool(values.get("explain_auto")))}


def show(state: dict) -> dict[str, Any]:
    """The phase at state["index"] in the view that fits the data, with its caption."""
    phase = state["phases"][state["index"]]
    count = len(state["phases"])
    caption = f"**{TITLES.get(phase.name, phase.name)}** ({state['index'] + 1} of {count}) · {phase.caption}"
    if state["real"] is not None:                       # points: the field view
        figure = phase_figure(phase, state["real"], state["extent"])
        return {"explain_plot": gr.update(visible=True, value=figure),
                "explain_image": gr.update(visible=False), "explain_caption": caption,
                "explain_state": state}
    return {"explain_plot": gr.update(visible=False),
            "explain_image": gr.update(visible=True, value=phase_image(phase)),
            "explain_caption": caption, "explain_state": state}


def bind_explain(page: Page, handlers: ExplainHandlers) -> None:
    quick = dict(show_progress="hidden")
    page.on(page["explain_step"].click, handlers.explain, (), OUTPUTS, api_name="explain_step",
            concurrency_limit=2, **quick)
    page.on(page["explain_next"].click, handlers.move(+1), ["explain_state"], PHASE_OUTPUTS,
            api_name="explain_next", **quick)
    page.on(page["explain_prev"].click, handlers.move(-1), ["explain_state"], PHASE_OUTPUTS,
            api_name="explain_prev", **quick)
    page.on(page["explain_timer"].tick, handlers.move(+1), ["explain_state"], PHASE_OUTPUTS, **quick)
    page.on(page["explain_auto"].change, handlers.auto, ["explain_auto"], ("explain_timer",), **quick)
