"""The Train tab: lesson presets, the controls, run buttons, live charts, samples and findings.

Handlers are methods of TrainHandlers, a few lines each: they find the caller's Session in the
registry by `request.session_hash` and call it. They need no browser: tests pass any object with
a `session_hash` attribute as the request.

The page is refreshed by ONE function, `tick`, bound to a gr.Timer (1 Hz, always on). It only
reads `Session.snapshot()` and builds figures, and returns gr.skip() for every output whose data
has not changed since the last tick of this page. What was last sent is kept in a gr.State (one
per page, so per session), as keys that identify the content:
- curves and samples: (snapshot.version, snapshot.config). `version` bumps at every render of
  the worker; it restarts at 1 after a reset, but a version-1 render is always "fresh weights
  of this config at step 0", so with the config in the key equal keys mean equal content.
- quality: (number of evaluations, step of the last one, config);
- status and findings: their text itself.
So an idle or paused page costs one snapshot and a few comparisons per tick, and a running one
sends each figure at most once per render.

"samples" is one element: a gr.Column(elem_id="samples") that holds the 2D field (gr.Plot, for
point data) and the image grid (for image data); the tick shows the one that fits
snapshot.kind and hides the other. Two components rather than one because a Plotly figure of
a 64-image grid would be far heavier than a PNG. The grid is a gr.HTML <img> with the PNG
inline (a few KB): a gr.Image would write a file into Gradio's cache on every render, so a
long run would grow the server's disk by a file a second per visitor.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from .. import charts
from ..config import ConfigError, TrainConfig, get_preset, list_presets
from ..data import DataError
from ..pictures import image_grid, png_data_uri
from ..session import SessionRegistry, Snapshot
from . import exports, uploads
from .controls import CONTROLS, DATASET_LABELS, as_dict, config_from_values, values_from_config

DEFAULT_PRESET = "ring_stable"
TICK_S = 1.0
TICK_OUTPUTS = ("status", "loss_plot", "prob_plot", "grad_plot", "quality_plot", "field_plot",
                "grid_image", "findings", "sent")
GRID_PIXELS = 300           # the sample grid's PNG is about this wide; the page scales it crisply
SEVERITY_MARK = {"error": "🛑", "warning": "⚠️", "info": "ℹ️"}
BEFORE_RUN = "Findings appear here while training."
ALL_WELL = "No problems detected so far."


def warn(err: Exception) -> str:
    """A user error as one line for the message area (ConfigError already names the key)."""
    return f"⚠️ {err}"


def grid_html(snap: Snapshot) -> str:
    """The snapshot's samples as an 8-column grid, inline in an <img>."""
    side = snap.samples.shape[-1]
    picture = image_grid(snap.samples, columns=8, scale=max(1, GRID_PIXELS // (8 * (side + 1))))
    return (f'<img src="{png_data_uri(picture)}" '
            f'alt="64 generated samples at step {snap.step}">')


def findings_markdown(snap: Snapshot) -> str:
    """Each finding's title in bold and its explanation, in plain words."""
    if snap.version == 0:
        return BEFORE_RUN
    if not snap.findings:
        return ALL_WELL
    return "\n\n".join(f"{SEVERITY_MARK.get(f.severity, '')} **{f.title}**  \n{f.message}"
                       for f in snap.findings)


class TrainHandlers:
    """The Train tab's event handlers, bound to one SessionRegistry."""

    def __init__(self, registry: SessionRegistry):
        self.registry = registry

    def _session(self, request):
        return self.registry.get(request.session_hash)

    def _config(self, request, values) -> TrainConfig:
        """The controls' config; for `folder` data, the path of this visitor's own upload."""
        config = config_from_values(as_dict(values))
        if config.dataset != "folder":
            return config
        staged = self._session(request).uploaded_data
        if not staged:
            raise ConfigError("dataset", "folder", "an upload of your images first "
                              "(“Your own images and configs” below the controls)")
        return config.replace(data_path=staged)

    # --- uploads -------------------------------------------------------------------------
    def upload_images(self, request: gr.Request, files: list[str] | None) -> str:
        """Stage training images (or one zip) for dataset 'folder'."""
        if not files:
            return ""
        session = self._session(request)
        try:
            staged = uploads.stage_images(files, request.session_hash)
        except uploads.UploadError as err:
            return warn(err)
        uploads.discard(session.uploaded_data)
        session.uploaded_data = str(staged)
        return (f"{len(files)} file(s) ready: choose “{DATASET_LABELS['folder']}” as Data and press "
                "Reset or Start (unreadable images are skipped and counted)")

    def upload_config(self, request: gr.Request, file: str | None) -> list[Any]:
        """Fill the controls from an uploaded config.json (validated like every config)."""
        if not file:
            return [gr.skip()] * (len(CONTROLS) + 1)
        try:
            config = uploads.read_config(file)
        except (uploads.UploadError, ConfigError, OSError) as err:
            return [gr.skip()] * len(CONTROLS) + [warn(err)]
        return values_from_config(config) + ["config loaded into the controls: press Reset or Start"]

    def close(self, request: gr.Request) -> None:
        """The tab closed: stop its run and delete its uploads."""
        uploads.discard(self._session(request).uploaded_data)
        self.registry.close(request.session_hash)

    # --- lessons and controls --------------------------------------------------------------
    def load_preset(self, request: gr.Request, name: str) -> list[Any]:
        """Fill the controls from a preset, show its lesson, and start over with fresh weights."""
        try:
            preset = get_preset(name)
        except ConfigError as err:
            return [gr.skip()] * len(CONTROLS) + [gr.skip(), warn(err)]
        session = self._session(request)
        # A lesson is a new experiment: keep nothing of the previous run (not even when only
        # live keys differ, where Start alone would carry on with the old weights).
        if session.trainer is not None:
            session.reset(preset.config)
        else:
            session.update(**preset.config.to_dict())
        message = f"loaded “{preset.title}”: fresh weights, press Start"
        lesson = f"### {preset.title}\n{preset.summary}\n\n{preset.lesson}"
        return values_from_config(preset.config) + [lesson, message]

    def update(self, request: gr.Request, *values) -> str:
        """A control changed: live keys apply now, others are kept for the next Reset/Start."""
        try:
            return self._session(request).update(**self._config(request, values).to_dict())
        except ConfigError as err:
            return warn(err)

    # --- run buttons -----------------------------------------------------------------------
    def start(self, request: gr.Request, *values) -> str:
        try:
            return self.registry.start(request.session_hash, self._config(request, values))
        except (ConfigError, DataError) as err:
            return warn(err)

    def pause(self, request: gr.Request) -> str:
        return self._session(request).pause()

    def step(self, request: gr.Request, *values) -> str:
        return self._single(request, values, None, None)

    def d_step(self, request: gr.Request, *values) -> str:
        return self._single(request, values, 1, 0)

    def g_step(self, request: gr.Request, *values) -> str:
        return self._single(request, values, 0, 1)

    def _single(self, request, values, d_steps, g_steps) -> str:
        """One step; before any run the controls' config is adopted first."""
        session = self._session(request)
        try:
            session.update(**self._config(request, values).to_dict())
            return session.step(d_steps, g_steps)
        except (ConfigError, DataError) as err:
            return warn(err)

    def reset(self, request: gr.Request, *values) -> str:
        try:
            return self._session(request).reset(self._config(request, values))
        except (ConfigError, DataError) as err:
            return warn(err)

    def restore(self, request: gr.Request) -> str:
        return self._session(request).restore()

    # --- downloads -------------------------------------------------------------------------
    def export(self, request: gr.Request) -> tuple[list[str] | None, str]:
        """config.json, metrics.csv and generator.safetensors of this session's run."""
        session = self._session(request)
        snap = session.snapshot()
        folder = exports.staging_dir()
        files = [exports.write_config(folder, snap.config or session.config),
                 exports.write_metrics(folder, snap.curves, snap.evals)]
        checkpoint = session.with_trainer(lambda trainer: exports.write_checkpoint(folder, trainer))
        if checkpoint is None:
            return [str(f) for f in files], "no model yet: config and (empty) metrics only"
        files.append(checkpoint)
        return ([str(f) for f in files],
                f"exported step {snap.step}; the links last {exports.KEEP_FILES_S // 60} minutes")

    # --- the page refresh ------------------------------------------------------------------
    def tick(self, request: gr.Request, sent: dict | None) -> tuple:
        """Status, charts, samples and findings; gr.skip() where nothing changed (see top)."""
        snap = self._session(request).snapshot()
        before, now = dict(sent or {}), {}

        def changed(name: str, key: Any) -> bool:
            now[name] = key
            return before.get(name, ()) != key

        status = snap.status_line()
        out: dict[str, Any] = {"status": status if changed("status", status) else gr.skip()}
        if changed("curves", (snap.version, snap.config)):
            if snap.version == 0:
                blank = charts.empty_figure("press Start (or Step) to train")
                out.update(loss_plot=blank, prob_plot=blank, grad_plot=blank)
            else:
                out.update(loss_plot=charts.loss_figure(snap.curves),
                           prob_plot=charts.prob_figure(snap.curves),
                           grad_plot=charts.grad_figure(snap.curves))
        last_eval = snap.evals[-1].get("step") if snap.evals else None
        if changed("quality", (len(snap.evals), last_eval, snap.config)):
            out["quality_plot"] = charts.quality_figure(snap.evals)
        out.update(self._samples(snap, changed))
        text = findings_markdown(snap)
        out["findings"] = text if changed("findings", text) else gr.skip()
        out["sent"] = now
        return tuple(out.get(name, gr.skip()) for name in TICK_OUTPUTS)

    @staticmethod
    def _samples(snap: Snapshot, changed) -> dict[str, Any]:
        """The field figure or the image grid, and which of the two is visible."""
        points = snap.kind == "points"
        new_kind = changed("kind", snap.kind)
        value = gr.skip()
        if changed("samples", (snap.version, snap.config)):
            if snap.samples is None:
                value = charts.empty_figure("the generated samples appear here") if points else ""
            elif points:
                value = charts.field_figure(snap.real, snap.samples, snap.field, snap.manifold)
            else:
                value = grid_html(snap)
        shown, hidden = ("field_plot", "grid_image") if points else ("grid_image", "field_plot")
        if not new_kind:
            return {shown: value}
        if isinstance(value, dict):          # a skip: only the visibility changes
            return {shown: gr.update(visible=True), hidden: gr.update(visible=False)}
        return {shown: gr.update(visible=True, value=value), hidden: gr.update(visible=False)}


def build_train_tab(handlers: TrainHandlers, timer: gr.Timer) -> None:
    """The Train tab's components and events (inside an open gr.Tab)."""
    presets = list_presets()
    first = get_preset(DEFAULT_PRESET)
    idle = Snapshot(state="idle", message="press Start to train")
    with gr.Row():
        preset = gr.Dropdown([(f"{p.title} ({p.name})", p.name) for p in presets],
                             value=first.name, label="Lesson", elem_id="preset", scale=1)
        lesson = gr.Markdown(f"### {first.title}\n{first.summary}\n\n{first.lesson}",
                             elem_id="lesson")
    with gr.Row():
        start = gr.Button("Start", variant="primary", elem_id="start")
        pause = gr.Button("Pause", elem_id="pause")
        step = gr.Button("Step", elem_id="step")
        reset = gr.Button("Reset", variant="stop", elem_id="reset")
        d_step = gr.Button("D step", elem_id="d_step", size="sm")
        g_step = gr.Button("G step", elem_id="g_step", size="sm")
        restore = gr.Button("Restore last good weights", elem_id="restore", size="sm")
    status = gr.Textbox(idle.status_line(), label="Status", elem_id="status", interactive=False)
    message = gr.Markdown("", elem_id="message")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            values = values_from_config(first.config)
            controls = [c.build(v) for c, v in zip(CONTROLS, values) if not c.advanced]
            with gr.Accordion("Advanced: optimizers, penalties, tricks", open=False):
                controls += [c.build(v) for c, v in zip(CONTROLS, values) if c.advanced]
            with gr.Accordion("Your own images and configs", open=False):
                images = gr.File(label="Training images (.png/.jpg/...) or one .zip",
                                 file_count="multiple", file_types=["image", ".zip"],
                                 type="filepath", elem_id="images_upload")
                config_file = gr.File(label="Load a config.json (e.g. from Downloads)",
                                      file_types=[".json"], type="filepath", elem_id="config_upload")
            # Rebuilt in table order: the handlers read values positionally.
            by_key = {c.elem_id: c for c in controls}
            controls = [by_key[c.key] for c in CONTROLS]
        with gr.Column(scale=2):
            blank = charts.empty_figure("press Start (or Step) to train")
            with gr.Row():
                loss_plot = gr.Plot(blank, label="Losses", elem_id="loss_plot")
                prob_plot = gr.Plot(blank, label="D(x) and D(G(z))", elem_id="prob_plot")
            with gr.Column(elem_id="samples"):
                field_plot = gr.Plot(charts.empty_figure("the generated samples appear here"),
                                     label="Samples over the real data", elem_id="field_plot")
                grid_image = gr.HTML("", label="Samples", show_label=True, container=True, visible=False,
                                     min_height=charts.FIELD_HEIGHT, elem_id="grid_image")
            findings = gr.Markdown(BEFORE_RUN, elem_id="findings", label="Findings")
            with gr.Row():
                grad_plot = gr.Plot(blank, label="Gradient norms", elem_id="grad_plot")
                quality_plot = gr.Plot(charts.quality_figure(()), label="Quality", elem_id="quality_plot")
            with gr.Accordion("Downloads: config, metrics, checkpoint", open=False):
                export = gr.Button("Prepare downloads", elem_id="export")
                files = gr.File(label="Files", file_count="multiple", interactive=False,
                                elem_id="downloads")
    sent = gr.State(None)

    quick = dict(show_progress="hidden")
    preset.change(handlers.load_preset, [preset], controls + [lesson, message],
                  api_name="load_preset", **quick)
    # One endpoint for every control: live keys apply at once, the rest wait for a reset.
    gr.on([c.input for c in controls], handlers.update, controls, message, api_name="update",
          trigger_mode="always_last", **quick)
    start.click(handlers.start, controls, message, api_name="start", **quick)
    pause.click(handlers.pause, None, message, api_name="pause", **quick)
    step.click(handlers.step, controls, message, api_name="step", **quick)
    d_step.click(handlers.d_step, controls, message, api_name="d_step", **quick)
    g_step.click(handlers.g_step, controls, message, api_name="g_step", **quick)
    reset.click(handlers.reset, controls, message, api_name="reset", **quick)
    restore.click(handlers.restore, None, message, api_name="restore", **quick)
    images.upload(handlers.upload_images, [images], message, api_name="upload_images",
                  concurrency_limit=2, **quick)
    config_file.upload(handlers.upload_config, [config_file], controls + [message],
                       api_name="upload_config", **quick)
    export.click(handlers.export, None, [files, message], api_name="export", concurrency_limit=2)
    # Many pages tick at once and each tick is cheap: no concurrency limit (DESIGN.md).
    timer.tick(handlers.tick, [sent],
               [status, loss_plot, prob_plot, grad_plot, quality_plot, field_plot, grid_image,
                findings, sent],
               api_name="tick", concurrency_limit=None, **quick)
