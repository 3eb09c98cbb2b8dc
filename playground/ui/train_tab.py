"""The Train tab's layout: built in one place, every component registered on the Page by id.

Laid out for a projector (1280×720): the lesson picker, the run buttons and the status on one
row; right below, the two views that carry a lesson (the samples and D(x)/D(G(z))) side by
side with the message area over a side panel of tabs (Lesson, Controls, Advanced, Share,
Files), so the controls never push the views down; the other charts, history and slow motion
run full width below.
On a phone the columns stack: the samples come right after Start, then D(x), then the lesson.
Handlers are in train_handlers.py and the page refresh in tick.py.
"""
from __future__ import annotations

import gradio as gr

from .. import charts
from ..config import get_preset, list_presets
from ..snapshot import Snapshot
from . import predict, tick
from .controls import CONTROLS, KEYS, values_from_config
from .explain_panel import ExplainHandlers, bind_explain, build_explain_panel
from .page import Page
from .train_handlers import TrainHandlers, lesson_markdown
from .wording import BEFORE_RUN, status_line

DEFAULT_PRESET = "ring_stable"
TICK_S = 1.0
RUN_BUTTONS = ("start", "pause", "step", "reset")
QUICK = dict(show_progress="hidden")


def _views(page: Page) -> None:
    """The two views that carry a lesson: the samples and D(x)/D(G(z)), side by side."""
    with gr.Column(elem_id="samples", scale=3, min_width=300):
        page.add(gr.Plot(charts.empty_figure("the generated samples appear here"),
                         label="Samples over the real data", elem_id="field_plot"))
        page.add(gr.HTML("", label="Samples", show_label=True, container=True, visible=False,
                         min_height=charts.FIELD_HEIGHT, elem_id="grid_image"))
    with gr.Column(scale=3, min_width=300):
        page.add(gr.Plot(charts.empty_figure(tick.BLANK, charts.FIELD_HEIGHT),
                         label="D(x) and D(G(z))", elem_id="prob_plot"))


def _below(page: Page) -> None:
    """Full width under the views: findings, the other charts, history, slow motion."""
    blank = charts.empty_figure(tick.BLANK)
    with gr.Row():
        page.add(gr.Button("D step", elem_id="d_step", size="sm"))
        page.add(gr.Button("G step", elem_id="g_step", size="sm"))
        page.add(gr.Button("Explain one step", elem_id="explain_step", size="sm"))
        page.add(gr.Button("Restore last good weights", elem_id="restore", size="sm",
                           interactive=False))
    page.add(gr.Markdown(BEFORE_RUN, elem_id="findings", label="Findings"))
    with gr.Row():
        page.add(gr.Plot(blank, label="Losses", elem_id="loss_plot"))
        page.add(gr.Plot(blank, label="Gradient norms", elem_id="grad_plot"))
        page.add(gr.Plot(charts.quality_figure(()), label="Quality", elem_id="quality_plot"))
    build_explain_panel(page)
    with gr.Accordion("History: scrub back through the run", open=False, elem_id="history"):
        page.add(gr.Slider(0, 1, value=0, step=1, label="Frame (the run's recorded views, oldest first)",
                           elem_id="history_slider"))
        page.add(gr.HTML("", elem_id="history_view", min_height=200))


def _side_panel(page: Page, first) -> None:
    """The lesson text, the controls and the files, as tabs of a narrow column."""
    values = values_from_config(first.config)
    with gr.Tabs(elem_id="side_tabs", overflow_behavior="wrap"):
        with gr.Tab("Lesson", id="lesson_tab"):
            page.add(gr.Markdown(lesson_markdown(first), elem_id="lesson"))
            asked = predict.ask(first.name)
            page.add(gr.Radio([], label="Predict first", elem_id="question",
                              visible=asked["question"]["visible"]))
            page.add(gr.Markdown(asked["answer"], elem_id="answer"))
        with gr.Tab("Controls", id="controls_tab") as controls_tab:
            for control in CONTROLS:
                if not control.advanced:
                    page.add(control.build(values[control.key]))
        with gr.Tab("Advanced", id="advanced_tab") as advanced_tab:
            for control in CONTROLS:
                if control.advanced:
                    page.add(control.build(values[control.key]))
        with gr.Tab("Share", id="share_tab"):
            gr.Markdown("A link that opens this page with this lesson and these settings "
                        "(add `&hide=advanced,loss` to hide controls for a class, "
                        "`&autostart=1` to start at once).")
            page.add(gr.Button("Share", elem_id="share"))
            page.add(gr.Textbox("", label="Link", elem_id="share_link", interactive=False,
                                buttons=["copy"]))
            gr.Markdown("Let students **follow** this run live on their own screens (read-only):")
            with gr.Row():
                page.add(gr.Button("Let students follow", elem_id="follow_start", size="sm"))
                page.add(gr.Button("Stop sharing", elem_id="follow_stop", size="sm"))
            page.add(gr.Markdown("", elem_id="follow_code"))
        with gr.Tab("Files", id="files_tab") as files_tab:
            page.add(gr.File(label="Training images (.png/.jpg/...) or one .zip",
                             file_count="multiple", file_types=["image", ".zip"],
                             type="filepath", elem_id="images_upload"))
            page.add(gr.File(label="Load a config.json (e.g. from Downloads)",
                             file_types=[".json"], type="filepath", elem_id="config_upload"))
            page.add(gr.File(label="Your own 2D points: a .csv of x, y (up to 100 000 rows)",
                             file_types=[".csv"], type="filepath", elem_id="points_upload"))
            page.add(gr.Sketchpad(label="… or draw the points (dark strokes become data)",
                                  type="numpy", image_mode="RGBA", canvas_size=(320, 320),
                                  elem_id="draw_points", layers=False))
            page.add(gr.Button("Use my drawing as data", elem_id="draw_use", size="sm"))
            page.add(gr.File(label="Resume a run (checkpoint.safetensors from Downloads)",
                             file_types=[".safetensors"], type="filepath", elem_id="run_upload"))
            page.add(gr.Button("Prepare downloads", elem_id="export"))
            page.add(gr.File(label="Downloads: config, metrics, events, checkpoint, timelapse",
                             file_count="multiple", interactive=False, elem_id="downloads"))
    for name, tab in (("controls_tab", controls_tab), ("advanced_tab", advanced_tab),
                      ("files_tab", files_tab)):
        page.add(tab, name=name)                 # a share link may hide them for a class


def build_train_tab(handlers: TrainHandlers, timer: gr.Timer) -> Page:
    """The Train tab's components and events (inside an open gr.Tab); returns its Page."""
    page = Page()
    first = get_preset(DEFAULT_PRESET)
    with gr.Row(elem_id="run_bar", equal_height=True):
        page.add(gr.Dropdown([(f"{p.title} ({p.name})", p.name) for p in list_presets()],
                             value=first.name, label="Lesson", elem_id="preset", scale=2,
                             min_width=220))
        with page.add(gr.Row(scale=3, elem_id="run_buttons")):
            page.add(gr.Button("Start", variant="primary", elem_id="start", min_width=70))
            page.add(gr.Button("Pause", elem_id="pause", min_width=70))
            page.add(gr.Button("Step", elem_id="step", min_width=70))
            page.add(gr.Button("Reset", variant="stop", elem_id="reset", min_width=70))
        page.add(gr.Textbox(status_line(Snapshot(state="idle")), label="Status", elem_id="status",
                            interactive=False, scale=3, min_width=260))
    # On a phone the columns stack: samples, D(x), then the lesson and controls, then the rest.
    with gr.Row():
        _views(page)
        # The message area heads the right-hand column: on a projector it is on the first
        # screen beside the views (under them it sat 1.5 screens down, out of the class's
        # sight), and it stays when a follower's page hides the side panel below it.
        with gr.Column(scale=2, min_width=260):
            page.add(gr.Markdown("", elem_id="message"))
            with gr.Column(elem_id="side_panel") as side_panel:
                _side_panel(page, first)
            page.add(side_panel, name="side_panel")
    _below(page)
    page.add(gr.State(None), name="sent")
    _bind(page, handlers, timer)
    bind_explain(page, ExplainHandlers(handlers.registry))
    return page


def _bind(page: Page, handlers: TrainHandlers, timer: gr.Timer) -> None:
    """Every event of the tab: which handler, which inputs, which outputs."""
    controls = KEYS
    message = ("message",)
    with_boxes = message + controls           # a refusal may put a box back
    # .input, not .change: a share link sets the dropdown itself and must not reload the lesson.
    page.on(page["preset"].input, handlers.load_preset, ["preset"],
            ("preset", "lesson", "question", "answer") + with_boxes, api_name="load_preset", **QUICK)
    # One endpoint for every control: live keys apply at once, the rest wait for a reset.
    # A typed box applies on Enter or when it loses focus, never per keystroke: a half-typed
    # "0.000" would be refused and put back while the student is still typing.
    typed = [k for k in controls if isinstance(page[k], gr.Textbox)]
    picked = [k for k in controls if k not in typed]
    page.on([page[k].submit for k in typed] + [page[k].blur for k in typed]
            + [page[k].input for k in picked],
            handlers.update, controls, with_boxes, api_name="update",
            trigger_mode="always_last", **QUICK)
    for name in ("start", "step", "d_step", "g_step", "reset"):
        page.on(page[name].click, getattr(handlers, name), controls, with_boxes,
                api_name=name, **QUICK)
    page.on(page["pause"].click, handlers.pause, (), message, api_name="pause", **QUICK)
    page.on(page["restore"].click, handlers.restore, (), message, api_name="restore", **QUICK)
    page.on(page["images_upload"].upload, handlers.upload_images, ["images_upload"], message,
            api_name="upload_images", concurrency_limit=2, **QUICK)
    page.on(page["config_upload"].upload, handlers.upload_config, ["config_upload"], with_boxes,
            api_name="upload_config", **QUICK)
    page.on(page["points_upload"].upload, handlers.upload_points, ["points_upload"],
            ("message", "dataset"), api_name="upload_points", concurrency_limit=2, **QUICK)
    page.on(page["draw_use"].click, handlers.use_drawing, ["draw_points"], ("message", "dataset"),
            api_name="use_drawing", concurrency_limit=2, **QUICK)
    page.on(page["run_upload"].upload, handlers.upload_run, ["run_upload"], with_boxes,
            api_name="upload_run", concurrency_limit=2, **QUICK)
    page.on(page["export"].click, handlers.export, (), message + ("downloads",),
            api_name="export", concurrency_limit=2)
    page.on(page["history_slider"].input, handlers.show_frame, ["history_slider"],
            ("history_view",), api_name="history", trigger_mode="always_last", **QUICK)

    # Many pages tick at once and each tick is cheap: no concurrency limit.
    page.on(timer.tick, handlers.refresh, ["sent", "question"], tick.OUTPUTS + ("answer",), api_name="tick",
            concurrency_limit=None, **QUICK)
