"""The Compare tab's handlers and its refresh: from the two columns of knobs to a Comparison.

Handlers are `fn(request, values) -> dict` keyed by elem_id (ui/page.py). A visitor's
comparison is a playground.compare.Comparison kept in the SessionRegistry under
"<session hash>#compare" (SessionRegistry.start_job), so it counts as ONE run against the
server's cap, the sweeper pauses it when nobody watches, and closing the tab stops it
(more_tabs.close_jobs, an on_close hook). The knobs not in the columns (data, network size)
are the chosen comparison lesson's. Every sentence is written here or in wording.py, with the
controls' labels; config keys appear only in the short diff line ("B: loss nonsaturating
(A: minimax)"), which is meant to read like the config files.
"""
from __future__ import annotations

import statistics
from typing import Any

import gradio as gr

from ..charts import compare as compare_charts
from ..compare import SIDES, Comparison, CompareSnapshot, differences, read_comparison
from ..config import ConfigError, TrainConfig
from ..data import DataError
from ..pictures import image_grid, png_data_uri, scatter
from ..snapshot import Notice
from .controls import shown, typed
from .wording import SEVERITY_MARK, label, notice_text, number, refusal

# The two columns: the knobs a lesson compares. Everything else is the lesson's.
COMPARE_KEYS = ("loss", "lr_d", "lr_g", "d_steps", "g_steps", "batch_size", "seed", "r1_gamma",
                "gp_lambda", "instance_noise")
JOB_SUFFIX = "#compare"
VIEW_PX = 280                   # each side's samples picture
USER_ERRORS = (ConfigError, DataError)
BLANK = "press Start to train A and B"
TICK_OUTPUTS = ("compare_status", "compare_grad_plot", "compare_prob_plot", "compare_quality_plot",
                "compare_samples", "compare_findings", "compare_timer", "compare_sent")
WORDS = {
    "fresh": "A and B start from step 0, from the same seed: training both.",
    "started": "Training A and B.",
    "paused": "Paused: Start goes on from here.",
    "diverged": "Both runs diverged (a loss became infinite or NaN): press Start for a fresh pair.",
    "stopped": "This comparison has ended.",
    "failed": "The comparison stopped on an error (the server's log has the details).",
}


def box_id(side: str, key: str) -> str:
    """The elem_id of one knob of one column: compare_a_lr_d, compare_b_loss, ..."""
    return f"compare_{side}_{key}"


def column_ids(side: str) -> tuple[str, ...]:
    return tuple(box_id(side, key) for key in COMPARE_KEYS)


def column_values(config: TrainConfig, side: str) -> dict[str, Any]:
    """A config as one column's box values."""
    return {box_id(side, k): shown(getattr(config, k)) for k in COMPARE_KEYS}


def short_value(key: str, value: Any) -> str:
    return number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def diff_line(a: TrainConfig, b: TrainConfig) -> str:
    """"B: loss nonsaturating (A: minimax) · lr_d 0.002 (A: 0.001)", or that they are the same."""
    changed = differences(a, b)
    if not changed:
        return "**A and B are the same**: change a knob of B (or A) to compare."
    parts = [f"{k} {short_value(k, vb)} (A: {short_value(k, va)})" for k, (va, vb) in changed.items()]
    return "**B:** " + " · ".join(parts)


def side_captions(configs: tuple) -> tuple[str, str]:
    """"A · loss minimax" / "B · loss nonsaturating": each run named by what sets it apart."""
    if len(configs) != 2:
        return "A", "B"
    changed = differences(*configs)
    return tuple(f"{name} · " + ", ".join(f"{k} {short_value(k, getattr(c, k))}" for k in changed)
                 if changed else name for name, c in zip(("A", "B"), configs))


class CompareHandlers:
    """The Compare tab's event handlers, bound to one SessionRegistry."""

    def __init__(self, registry):
        self.registry = registry

    def _job(self, request) -> Comparison | None:
        return self.registry.find(request.session_hash + JOB_SUFFIX)

    def _configs(self, values: dict) -> tuple[TrainConfig, TrainConfig]:
        """(A, B) from the lesson's config and the two columns; a bad box raises ConfigError."""
        _, base, _ = read_comparison(values["compare_preset"])
        return tuple(base.replace(**{k: typed(k, values[box_id(side, k)]) for k in COMPARE_KEYS
                                     if box_id(side, k) in values}) for side in SIDES)

    # --- lessons and knobs --------------------------------------------------------------------
    def load_lesson(self, request, values) -> dict:
        """Both columns from a comparison lesson, its text and its diff."""
        try:
            preset, a, b = read_comparison(values["compare_preset"])
        except USER_ERRORS as err:
            return {"compare_message": refusal(err)}
        return {**column_values(a, "a"), **column_values(b, "b"), "compare_diff": diff_line(a, b),
                "compare_lesson": f"### {preset.title}\n{preset.summary}\n\n{preset.lesson}",
                "compare_message": f"Loaded “{preset.title}”: press Start to train A and B."}

    def edit(self, side: str):
        """The handler for a knob of column `side`: live keys apply to that run only, now."""
        def edited(request, values) -> dict:
            try:
                configs = self._configs(values)
            except USER_ERRORS as err:
                return {"compare_message": f"{side.upper()}: {refusal(err)}"}
            out = {"compare_diff": diff_line(*configs)}
            job = self._job(request)
            if job is None or job.pair is None:
                return {**out, "compare_message": "Saved: press Start to train A and B."}
            changes = configs[SIDES.index(side)].to_dict()
            try:
                notice = job.update(side, **{k: changes[k] for k in COMPARE_KEYS})
            except USER_ERRORS as err:
                return {**out, "compare_message": f"{side.upper()}: {refusal(err)}"}
            return {**out, "compare_message": applied_text(notice)}
        edited.__name__ = f"edit_{side}"
        return edited

    def copy_a_to_b(self, request, values) -> dict:
        """B's column := A's column (and B's run takes A's live values, if it is training)."""
        copied = {box_id("b", k): values[box_id("a", k)] for k in COMPARE_KEYS}
        out = self.edit("b")(request, {**values, **copied})
        return {**copied, **out}

    # --- run buttons ------------------------------------------------------------------------
    def start(self, request, values) -> dict:
        try:
            a, b = self._configs(values)
            key = request.session_hash + JOB_SUFFIX
            job = self.registry.find(key) or Comparison()
            notice = self.registry.start_job(key, job, a, b)
        except USER_ERRORS as err:
            return {"compare_message": refusal(err)}
        return {"compare_message": compare_notice(notice), "compare_diff": diff_line(a, b),
                "compare_timer": gr.Timer(active=job.running)}

    def pause(self, request, values) -> dict:
        job = self._job(request)
        if job is None:
            return {"compare_message": "Nothing to pause: press Start first."}
        return {"compare_message": compare_notice(job.pause())}

    # --- the refresh ----------------------------------------------------------------------
    def tick(self, request, values) -> dict:
        job = self._job(request)
        snap = job.snapshot() if job is not None else CompareSnapshot()
        out = compare_tick(snap, values.get("compare_sent"))
        if snap.state != "running":
            out["compare_timer"] = gr.Timer(active=False)   # the last frame is out: stop ticking
        return out


# --- words -------------------------------------------------------------------------------------
def compare_notice(notice: Notice) -> str:
    if notice.code == "applied":
        return applied_text(notice)
    return WORDS.get(notice.code) or notice_text(notice)


def applied_text(notice: Notice) -> str:
    side = str(notice.get("side", "")).upper()
    parts = [f"{label(k)} is now {number(v)}" for k, v in notice.get("live", ())]
    later = notice.get("later", ())
    if later:
        parts.append(f"{', '.join(label(k) for k in later)}: takes effect at the next Start "
                     "(a fresh pair from step 0)")
    return f"{side}: " + ("; ".join(parts) + "." if parts else "nothing changed.")


def status_text(snap: CompareSnapshot) -> str:
    """'running · step N · X steps/s · one ensemble': what the comparison is doing."""
    rate = snap.steps_per_s if snap.state == "running" else 0.0
    how = ("A and B as one ensemble" if snap.together else "A and B stepped in turn") if snap.configs else ""
    return " · ".join(p for p in (snap.state, f"step {snap.step}", f"{rate:.1f} steps/s", how) if p)


def median_g(curves: dict, last: int = 200) -> float:
    values = [v for v in (curves.get("grad_norm_g") or [])[-last:] if v == v]
    return statistics.median(values) if values else float("nan")


def findings_text(snap: CompareSnapshot) -> str:
    """Each run's findings in a line, and the two generators' gradient norms side by side."""
    if not snap.configs or not snap.curves or not snap.curves[0].get("step"):
        return ""
    lines = []
    for name, found, gone in zip(("A", "B"), snap.findings, snap.diverged):
        words = " · ".join(f"{SEVERITY_MARK.get(f.severity, '')} {f.title}" for f in found)
        lines.append(f"**{name}**: {words or 'no problems detected'}{' (diverged)' if gone else ''}")
    g_a, g_b = (median_g(c) for c in snap.curves)
    if g_a > 0 and g_b > 0:
        lines.append(f"Median G gradient norm, recent steps: A {g_a:.2g}, B {g_b:.2g} "
                     f"(B/A = {g_b / g_a:.2g})")
    return "  \n".join(lines)


def samples_html(snap: CompareSnapshot) -> str:
    """The two samples views side by side (PNG inline: no file per refresh)."""
    if not snap.samples:
        return f"<p>{BLANK}</p>"
    views = []
    for caption, samples, real in zip(side_captions(snap.configs), snap.samples, snap.real or (None, None)):
        if snap.kind == "points":
            extent = float(abs(real).max()) * 1.35 if real is not None and len(real) else None
            picture = scatter(samples, real, size=VIEW_PX, extent=extent)
        else:
            picture = image_grid(samples, columns=8, scale=max(1, VIEW_PX // (8 * (samples.shape[-1] + 1))))
        views.append(f'<figure style="margin:0;text-align:center"><img src="{png_data_uri(picture)}" '
                     f'alt="{caption}: samples at step {snap.step}" style="width:{VIEW_PX}px;max-width:100%">'
                     f'<figcaption>{caption}</figcaption></figure>')
    return f'<div style="display:flex;gap:12px;flex-wrap:wrap">{"".join(views)}</div>'


def compare_tick(snap: CompareSnapshot, sent: dict | None) -> dict[str, Any]:
    """{elem_id: new value} for what changed since `sent` (tick.py's way), and the new `sent`."""
    before, now, out = dict(sent or {}), {}, {}

    def changed(name: str, key: Any) -> bool:
        now[name] = key
        return before.get(name, ()) != key

    status = status_text(snap)
    if changed("status", status):
        out["compare_status"] = status
    if changed("curves", (snap.version, snap.configs)):
        blank = compare_charts.empty_figure(BLANK)
        drawn = snap.version > 0 and bool(snap.curves)
        out["compare_grad_plot"] = compare_charts.grad_figure(snap.curves) if drawn else blank
        out["compare_prob_plot"] = compare_charts.prob_figure(snap.curves) if drawn else blank
        out["compare_samples"] = samples_html(snap)
        out["compare_findings"] = findings_text(snap)
    if changed("quality", tuple(len(e) for e in snap.evals)):
        out["compare_quality_plot"] = compare_charts.quality_figure(snap.evals)
    out["compare_sent"] = now
    return out
