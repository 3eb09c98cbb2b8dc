"""Page: the components of the app by elem_id, and events whose handlers speak in elem_ids.

    page = Page()
    lr_d = page.add(gr.Textbox(..., elem_id="lr_d"))
    page.on(start.click, handlers.start, inputs=CONTROL_IDS, outputs=("message", "status"))

A handler is `fn(request, values) -> dict`: `values` is {elem_id: value} of its inputs, and it
returns {elem_id: new value} for the outputs it changes (the others stay as they are). No
positional lists that must match another list elsewhere, no padding with gr.skip(): Gradio
passes a set of input components as one dict and takes a dict of output components, and the
page translates between components and their ids. Handlers can be tested with plain dicts.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import gradio as gr

Handler = Callable[..., dict]


class Page:
    """Components by elem_id (the ids tests, docs and CSS rely on)."""

    def __init__(self):
        self.components: dict[str, gr.components.Component] = {}
        self._names: dict = {}                   # component -> its id on this page

    def add(self, component, name: str | None = None):
        """Register `component` under its elem_id (or `name`, for a gr.State, which has none)."""
        name = name or component.elem_id
        if not name:
            raise ValueError("every component on the page needs an elem_id")
        if name in self.components:
            raise ValueError(f"two components share the id {name!r}")
        self.components[name] = component
        self._names[component] = name
        return component

    def __getitem__(self, elem_id: str):
        return self.components[elem_id]

    def pick(self, ids: Iterable[str]) -> list:
        return [self.components[i] for i in ids]

    def wrap(self, fn: Handler, with_inputs: bool, outputs: int = 1) -> Callable:
        """A Gradio function for handler `fn` (which takes ids and returns ids)."""
        def to_components(out: dict[str, Any]):
            if not out:
                # Gradio reads an empty dict as one output value, not as "nothing changed".
                return None if outputs == 0 else gr.skip() if outputs == 1 else [gr.skip()] * outputs
            return {self.components[k]: v for k, v in out.items()}

        if with_inputs:
            def event(data: dict, request: gr.Request):
                return to_components(fn(request, {self._names[c]: v for c, v in data.items()}))
        else:
            def event(request: gr.Request):
                return to_components(fn(request, {}))
        event.__name__ = getattr(fn, "__name__", "event")
        return event

    def on(self, trigger, fn: Handler, inputs: Iterable[str] = (), outputs: Iterable[str] = (),
           **options):
        """Bind `fn` to `trigger` (e.g. button.click, or a list of triggers for gr.on)."""
        inputs, outputs = tuple(inputs), tuple(outputs)
        event = self.wrap(fn, with_inputs=bool(inputs), outputs=len(outputs))
        kwargs = dict(inputs=set(self.pick(inputs)) if inputs else None,
                      outputs=self.pick(outputs), **options)
        if isinstance(trigger, (list, tuple)):
            return gr.on(trigger, event, **kwargs)
        return trigger(event, **kwargs)
