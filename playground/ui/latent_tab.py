"""The Latent space tab's layout: walk between two latent vectors of a generator, or nudge one.

"latent_strip" is one element, a gr.Column holding the frames (gr.Image, image data; a long walk
wraps into rows) and the path over the real data (gr.Plot, point data); a walk shows the one
that fits the data, and the walk's animated GIF plays beside it. Handlers: latent_handlers.py.
"""
from __future__ import annotations

import gradio as gr

from .latent_handlers import (MAX_DIMS, MAX_FRAMES, METHODS, MIN_FRAMES, SLIDER_IDS, SOURCES,
                              LatentHandlers)
from .page import Page

WALK_INPUTS = ("latent_source", "checkpoint_upload", "seed_a", "seed_b", "frames", "method")
WALK_OUTPUTS = ("latent_message", "latent_strip_image", "latent_path", "latent_gif") + SLIDER_IDS


def build_latent_tab(handlers: LatentHandlers, tab: gr.Tab | None = None) -> Page:
    """The Latent space tab's components and events (inside an open gr.Tab); returns its Page."""
    page = Page()
    gr.Markdown(
        "A generator turns a random vector **z** into a sample. Nearby vectors give similar "
        "samples, so walking in a straight line (or along a great circle) from one z to another "
        "morphs one sample into the other. A *seed* names a z: the same seed, the same z.")
    with gr.Row():
        page.add(gr.Radio(SOURCES, value="session", label="Generator", elem_id="latent_source"))
        page.add(gr.File(label="Checkpoint (.safetensors)", file_types=[".safetensors"],
                         type="filepath", height=120, elem_id="checkpoint_upload"))
    with gr.Row():
        # Text boxes, not gr.Number: Gradio would refuse text or NaN with a generic error
        # before the handler can name the field.
        page.add(gr.Textbox("1", label="Seed A", max_lines=1, elem_id="seed_a"))
        page.add(gr.Textbox("2", label="Seed B", max_lines=1, elem_id="seed_b"))
        page.add(gr.Button("Random seeds", elem_id="random_seeds"))
        page.add(gr.Slider(MIN_FRAMES, MAX_FRAMES, value=8, step=1, label="Frames", elem_id="frames"))
        page.add(gr.Radio(METHODS, value="slerp", label="Path", elem_id="method"))
    page.add(gr.Button("Interpolate", variant="primary", elem_id="interpolate"))
    page.add(gr.Markdown("", elem_id="latent_message"))
    with gr.Row():
        with gr.Column(elem_id="latent_strip", scale=3):
            page.add(gr.Image(label="From A to B", type="pil", format="png", interactive=False,
                              elem_id="latent_strip_image"))
            page.add(gr.Plot(label="The path over the real data", visible=False,
                             elem_id="latent_path"))
        with gr.Column(scale=1, min_width=200):
            page.add(gr.Image(label="The walk, animated", type="filepath", interactive=False,
                              elem_id="latent_gif"))
    with gr.Accordion("Move along the first latent coordinates", open=False):
        gr.Markdown("One slider per latent coordinate (up to 8); the other coordinates of z "
                    "come from seed A.")
        with gr.Row():
            for i in range(MAX_DIMS):
                page.add(gr.Slider(-3, 3, value=0, step=0.05, label=f"z{i + 1}", elem_id=f"z{i + 1}",
                                   visible=i < 2))
        page.add(gr.Image(label="Sample", type="pil", format="png", interactive=False,
                          elem_id="latent_sample"))
        page.add(gr.Plot(label="Sample over the real data", visible=False,
                         elem_id="latent_sample_plot"))
    _bind(page, handlers, tab)
    return page


def _bind(page: Page, handlers: LatentHandlers, tab: gr.Tab | None) -> None:
    quick = dict(show_progress="hidden")
    page.on(page["checkpoint_upload"].change, handlers.check_upload, ["checkpoint_upload"],
            ("latent_message", "latent_source") + SLIDER_IDS, api_name="load_checkpoint", **quick)
    page.on(page["random_seeds"].click, handlers.random_seeds, (), ("seed_a", "seed_b"),
            api_name="random_seeds", **quick)
    # A walk is a few generator passes plus PNG/GIF encoding: CPU work, so at most two at once.
    page.on(page["interpolate"].click, handlers.interpolate, WALK_INPUTS, WALK_OUTPUTS,
            api_name="interpolate", concurrency_limit=2)
    page.on([page[s].input for s in SLIDER_IDS], handlers.slide,
            ("latent_source", "checkpoint_upload", "seed_a") + SLIDER_IDS,
            ("latent_message", "latent_sample", "latent_sample_plot"), api_name="latent_dims",
            trigger_mode="always_last", concurrency_limit=2, **quick)
    if tab is not None:
        page.on(tab.select, handlers.show_dims, ("latent_source", "checkpoint_upload"), SLIDER_IDS,
                api_name="latent_dims_shown", **quick)
