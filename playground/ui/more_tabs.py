"""The Compare and Stability map tabs, built in one call from the app's page assembly.

    with gr.Tabs() as tabs:
        with gr.Tab("Train", id="train"):
            train_page = build_train_tab(train, timer)
        ...
        pages = build_extra_tabs(registry, visitors, train_page, tabs)

Both tabs run their work as jobs of the visitor's (a Comparison, a MapJob) kept in the
SessionRegistry beside the Train tab's Session, each counting as one run against the server's
cap (SessionRegistry.start_job). Their cleanup is registered here: when the registry closes a
visitor (tab closed, or swept) their comparison and map stop too.
"""
from __future__ import annotations

import gradio as gr

from ..registry import SessionRegistry
from . import compare_handlers, map_handlers
from .compare_handlers import CompareHandlers
from .compare_tab import build_compare_tab
from .map_handlers import MapHandlers
from .map_tab import build_map_tab
from .page import Page
from .visitors import Visitors


def build_extra_tabs(registry: SessionRegistry, visitors: Visitors, train_page: Page, tabs: gr.Tabs,
                     train_tab: str = "train") -> dict[str, Page]:
    """The "Compare" and "Stability map" tabs, inside the open `tabs` (the app's gr.Tabs);
    `train_page` is the Train tab's Page and `train_tab` its gr.Tab id (a map's cell opens
    there). `visitors` is accepted for the visitor's per-tab state: these tabs keep no files, so
    they need nothing from it yet. Returns the two tabs' Pages: {"compare": ..., "map": ...}."""
    del visitors
    with gr.Tab("Compare", id="compare"):
        compare_page = build_compare_tab(CompareHandlers(registry))
    with gr.Tab("Stability map", id="stability_map"):
        map_page = build_map_tab(MapHandlers(registry, train_tab), train_page, tabs)
    registry.on_close(close_jobs(registry))
    return {"compare": compare_page, "map": map_page}


def close_jobs(registry: SessionRegistry):
    """An on_close hook: a visitor's tab closed (or was swept), so their comparison and map stop.
    A job's own close (its key has a '#') calls the hooks too: nothing more to do then."""
    def close(key: str) -> None:
        if "#" in key:
            return
        for suffix in (compare_handlers.JOB_SUFFIX, map_handlers.JOB_SUFFIX):
            if registry.find(key + suffix) is not None:
                registry.close(key + suffix)
    return close


__all__ = ["build_extra_tabs", "close_jobs"]
