"""A follower's page (`?follow=CODE`): its own light refresh of the run it follows, read-only.

Thirty students follow a lecturer's run from one server process, where the run trains in a
Python thread that needs the GIL for every step; any Python work the server does for the
followers is taken from it (bench/follow.py, bench/RESULTS.md). Measured in Gradio 6.31, each
output of an event costs the server, per call: a gr.skip() rebuilds the component and its
config, JSON schema included (~1-3 ms for a gr.Plot), a value goes through the component's
postprocess in a worker thread and back. So a follower's page does not refresh through the
Train tab's 12-output /tick. Its own timer (switched on by ui/share.py instead of the tab's)
calls /follow:
- only the view's outputs (FOLLOW_OUTPUTS): no gr.State, no History slider, no Restore, no
  lesson answer. What a follower was last sent is kept on the server (Visitor.follow_sent);
- postprocess=False: a frame (a snapshot's figures and findings) is built once (tick.FIGURES,
  the same entries as the lecturer's own page) and turned into what Gradio sends (each
  component's postprocess, then model_dump) once, for every follower of the run;
- one frame every FRAME_EVERY_S at most, shared: building the figures is the largest cost
  left (plotly), so followers' charts move on every 2 s while their status line (the step)
  moves at every tick;
- a frame is sent once: a follower that already has it gets gr.skip() for every figure;
- the hidden samples view (the grid for point data, the field for images) gets its blank
  with each frame rather than a skip, which costs Gradio less than the skip.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from .. import charts
from ..snapshot import Snapshot
from . import tick
from .wording import findings_markdown, status_line

FOLLOW_OUTPUTS = ("status", "loss_plot", "prob_plot", "grad_plot", "quality_plot", "field_plot",
                  "grid_image", "findings")
ENDED = "the shared run has ended"
SAMPLE_VIEWS = ("field_plot", "grid_image")
FRAME_EVERY_S = 2.0          # a followed run's charts move on at most this often
KEEP_RUNS = 16               # the latest frame of this many followed runs is kept


@dataclass(frozen=True)
class Frame:
    """What every follower of one run is shown, already in Gradio's form."""

    made_at: float
    key: tuple               # (snapshot version, config): what it shows
    kind: str
    wired: dict


class FollowHandlers:
    """The follower's tick, bound to the registry, the visitors' records and the Train page
    (whose components turn values into what Gradio sends)."""

    def __init__(self, registry, visitors, page):
        self.registry = registry
        self.visitors = visitors
        self.page = page
        self._latest: dict[str, Frame] = {}        # owner -> its latest frame, oldest first
        self._building = threading.Lock()
        self._blanks = {"field_plot": self._wire("field_plot", charts.empty_figure("")),
                        "grid_image": self._wire("grid_image", "")}

    def tick(self, request, values=None) -> dict[str, Any]:
        """{elem_id: value already in Gradio's form} of what changed for this follower."""
        visitor = self.visitors.get(request.session_hash)
        sent = visitor.follow_sent
        found = self.registry.followed_key(visitor.following) if visitor.following else None
        if found is None:
            return _once(sent, "status", ENDED)
        owner, session = found
        snap = session.snapshot()
        out = _once(sent, "status", status_line(snap))
        frame = self._current(owner, snap)
        if sent.get("frame") != frame.key:
            out.update(_sent_frame(frame, new_kind=sent.get("kind") != frame.kind))
            sent.update(frame=frame.key, kind=frame.kind)
        return out

    def _current(self, owner: str, snap: Snapshot) -> Frame:
        """The run's latest frame, or a new one from `snap` once that is FRAME_EVERY_S old.
        One follower builds it; the others keep the previous frame meanwhile."""
        latest = self._latest.get(owner)
        if latest is not None and not _due(latest, snap):
            return latest
        if not self._building.acquire(blocking=latest is None):
            return latest
        try:
            latest = self._latest.get(owner)
            if latest is None or _due(latest, snap):
                latest = Frame(time.monotonic(), (snap.version, snap.config), snap.kind,
                               self._wired_frame(owner, snap))
                self._latest.pop(owner, None)
                self._latest[owner] = latest
                while len(self._latest) > KEEP_RUNS:
                    self._latest.pop(next(iter(self._latest)))
            return latest
        finally:
            self._building.release()

    def _wired_frame(self, owner: str, snap: Snapshot) -> dict[str, Any]:
        values = {**tick.figures(snap, owner), "findings": findings_markdown(snap)}
        out = {name: self._wire(name, value) for name, value in values.items()}
        hidden = _views(snap.kind)[1]
        out[hidden] = self._blanks[hidden]
        return out

    def _wire(self, name: str, value):
        """`value` as Gradio would send it for component `name` (its postprocess, dumped)."""
        out = self.page[name].postprocess(value)
        return out.model_dump() if hasattr(out, "model_dump") else out


def _due(frame: Frame, snap: Snapshot) -> bool:
    """Whether `snap` should replace `frame`: it shows something new and the frame is old."""
    return (frame.key != (snap.version, snap.config)
            and time.monotonic() - frame.made_at >= FRAME_EVERY_S)


def _sent_frame(frame: Frame, new_kind: bool) -> dict[str, Any]:
    """The frame's outputs; on a follower's first frame (or a new kind of data), with the
    samples view that fits shown and the other hidden."""
    out = dict(frame.wired)
    if new_kind:
        shown, hidden = _views(frame.kind)
        out[shown] = gr.update(visible=True, value=frame.wired[shown])
        out[hidden] = gr.update(visible=False)
    return out


def _views(kind: str) -> tuple[str, str]:
    """(the samples view that fits the kind of data, the other one)."""
    return SAMPLE_VIEWS if kind == "points" else SAMPLE_VIEWS[::-1]


def _once(sent: dict, name: str, value) -> dict[str, Any]:
    """{name: value} when it differs from what was last sent under `name`, else {}."""
    if sent.get(name) == value:
        return {}
    sent[name] = value
    return {name: value}


def bind_follow(page, handlers: FollowHandlers, follow_timer: gr.Timer) -> None:
    """The follower's timer: off until ui/share.py's open_link switches it on for ?follow=."""
    page.on(follow_timer.tick, handlers.tick, (), FOLLOW_OUTPUTS, api_name="follow",
            concurrency_limit=None, postprocess=False, show_progress="hidden")
