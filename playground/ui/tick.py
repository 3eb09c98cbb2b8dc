"""The page refresh: ONE function, `tick`, bound to a gr.Timer (1 Hz, always on).

It only reads `Session.snapshot()` and builds figures, and returns only the outputs whose data
has changed since the last tick of this page (a handler's dict return leaves the others as they
are). What was last sent is kept in a gr.State (one per page, so per session), as keys that
identify the content:
- curves and samples: (snapshot.version, snapshot.config). `version` bumps at every render of
  the worker and keeps counting across runs, so equal keys mean equal content;
- quality: (number of evaluations, step of the last one, config);
- status, findings, Restore's availability: their value itself.
So an idle or paused page costs one snapshot and a few comparisons per tick, and a running one
sends each figure at most once per render. Figures are built through a small shared cache keyed
by (owner, version, config): the pages that follow one shared run (ui/share.py) all tick on the
same snapshot, and its figures are built once for all of them.

"samples" is one element: a gr.Column(elem_id="samples") that holds the 2D field (gr.Plot, for
point data) and the image grid (for image data); the tick shows the one that fits
snapshot.kind and hides the other. The grid is a gr.HTML <img> with the PNG inline (a few KB):
a gr.Image would write a file into Gradio's cache on every render.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

import gradio as gr
import plotly.graph_objects as go
from gradio.components.plot import PlotData

from .. import charts
from ..losses import LOSSES
from ..pictures import image_grid, png_data_uri
from ..snapshot import Snapshot
from .wording import findings_markdown, notice_text, status_line

GRID_PIXELS = 300           # the sample grid's PNG is about this wide; the page scales it crisply
OUTPUTS = ("status", "loss_plot", "prob_plot", "grad_plot", "quality_plot", "field_plot",
           "grid_image", "findings", "restore", "history_slider", "message", "sent")
# Notices no button of this page asked for: the run paused itself (nobody watched, it diverged)
# or its process ended. A command's own notice is already in the message area, and re-showing it
# would wipe a later refusal there, so only these reach it from the tick, once each.
UNPROMPTED = ("unwatched", "diverged", "run_process_ended")
BLANK = "press Start (or Step) to train"


def grid_html(snap: Snapshot) -> str:
    """The snapshot's samples as an 8-column grid, inline in an <img>."""
    side = snap.samples.shape[-1]
    picture = image_grid(snap.samples, columns=8, scale=max(1, GRID_PIXELS // (8 * (side + 1))))
    return (f'<img src="{png_data_uri(picture)}" '
            f'alt="64 generated samples at step {snap.step}">')


class FigureCache:
    """The last few built figure sets, shared by every page's tick (thread-safe, bounded)."""

    def __init__(self, size: int = 32):
        self.size = size
        self._built: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, build: Callable[[], dict]) -> dict:
        if not key[1]:                         # no owner named: nothing to share, just build
            return build()
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        # Outside the lock: builds may run side by side. A figure is kept serialised (gr.Plot
        # passes a PlotData through as it is), so thirty followers cost one to_json(), not thirty.
        value = {name: _serialised(v) for name, v in build().items()}
        with self._lock:
            self._built[key] = value
            while len(self._built) > self.size:
                self._built.popitem(last=False)
        return value


FIGURES = FigureCache()


def _serialised(value):
    """A Plotly figure as the PlotData gr.Plot would make of it; anything else as it is."""
    if isinstance(value, go.Figure):
        return PlotData(type="plotly", plot=value.to_json())
    return value


def tick(snap: Snapshot, sent: dict | None, owner: str = "") -> dict[str, Any]:
    """{elem_id: new value} for what changed since `sent`, and the new `sent` itself.
    `owner` names whose snapshot it is (a session, or a follow code) for the figure cache."""
    before, now = dict(sent or {}), {}
    key = (owner, snap.version, snap.config)

    def changed(name: str, key: Any) -> bool:
        now[name] = key
        return before.get(name, ()) != key

    out: dict[str, Any] = {}
    status = status_line(snap)
    if changed("status", status):
        out["status"] = status
    if changed("curves", (snap.version, snap.config)):
        out.update(FIGURES.get(("curves",) + key, lambda: _curves(snap)))
    last_eval = snap.evals[-1].get("step") if snap.evals else None
    if changed("quality", (len(snap.evals), last_eval, snap.config)):
        out["quality_plot"] = FIGURES.get(("quality",) + key,
                                          lambda: {"q": charts.quality_figure(snap.evals)})["q"]
    out.update(_samples(snap, changed, key))
    text = findings_markdown(snap)
    if changed("findings", text):
        out["findings"] = text
    if changed("restore", snap.can_restore):
        out["restore"] = gr.update(interactive=snap.can_restore)
    if changed("notice", (snap.notice, snap.step)) and snap.notice.code in UNPROMPTED:
        out["message"] = notice_text(snap.notice)
    if changed("film", len(snap.film_steps)):
        # The range grows with the film; the visitor's position on it is left alone.
        out["history_slider"] = gr.update(maximum=max(1, len(snap.film_steps) - 1))
    out["sent"] = now
    return out


def figures(snap: Snapshot, owner: str) -> dict[str, Any]:
    """Every figure of the snapshot by elem_id: the curves, quality, and the samples view that
    fits its kind, from the same cache entries as tick() (so a follower's page and the
    lecturer's own share one build)."""
    key = (owner, snap.version, snap.config)
    out = dict(FIGURES.get(("curves",) + key, lambda: _curves(snap)))
    out["quality_plot"] = FIGURES.get(("quality",) + key,
                                      lambda: {"q": charts.quality_figure(snap.evals)})["q"]
    shown = "field_plot" if snap.kind == "points" else "grid_image"
    out[shown] = FIGURES.get(("samples",) + key, lambda: {"v": _samples_value(snap)})["v"]
    return out


def _curves(snap: Snapshot) -> dict[str, Any]:
    if snap.version == 0:
        blank = charts.empty_figure(BLANK)
        return {"loss_plot": blank, "prob_plot": charts.empty_figure(BLANK, charts.FIELD_HEIGHT),
                "grad_plot": blank}
    critic = snap.config is not None and LOSSES[snap.config.loss].critic
    return {"loss_plot": charts.loss_figure(snap.curves, snap.edits),
            "prob_plot": charts.prob_figure(snap.curves, snap.edits, critic=critic),
            "grad_plot": charts.grad_figure(snap.curves, snap.edits)}


def _samples(snap: Snapshot, changed, key: tuple) -> dict[str, Any]:
    """The field figure or the image grid, and which of the two is visible."""
    points = snap.kind == "points"
    new_kind = changed("kind", snap.kind)
    value = None
    if changed("samples", (snap.version, snap.config)):
        value = FIGURES.get(("samples",) + key, lambda: {"v": _samples_value(snap)})["v"]
    shown, hidden = ("field_plot", "grid_image") if points else ("grid_image", "field_plot")
    if not new_kind:
        return {} if value is None else {shown: value}
    shown_update = gr.update(visible=True) if value is None else gr.update(visible=True, value=value)
    return {shown: shown_update, hidden: gr.update(visible=False)}


def _samples_value(snap: Snapshot):
    points = snap.kind == "points"
    if snap.samples is None:
        return charts.empty_figure("the generated samples appear here") if points else ""
    if points:
        return charts.field_figure(snap.real, snap.samples, snap.field, snap.manifold)
    return grid_html(snap)
