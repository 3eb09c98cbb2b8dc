"""The whole page: title, a line for students, the Train, Latent space, Dirac-GAN, Compare and
Stability map tabs.

One SessionRegistry serves every visitor: each browser tab (Gradio session_hash) gets its own
Session, at most `max_running` of them train at once, and a tab that closes stops its thread
(demo.unload fires after the heartbeat notices the tab is gone). What belongs to the tab rather
than the run (uploads, the Latent tab's checkpoint, its download folder) is in ui/visitors.py,
dropped through the registry's on_close hook: on unload and when the sweeper gives up on a tab.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

import gradio as gr

from ..charts import FIELD_HEIGHT
from ..config import get_preset
from ..registry import SessionRegistry
from .controls import KEYS
from .exports import KEEP_FILES_S
from .dirac_tab import build_dirac_tab
from .follow import FollowHandlers, bind_follow
from .latent_handlers import LatentHandlers
from .more_tabs import build_extra_tabs
from .latent_tab import build_latent_tab
from .share import LOAD_OUTPUTS, ShareHandlers
from .train_handlers import TrainHandlers
from .train_tab import DEFAULT_PRESET, TICK_S, build_train_tab
from .visitors import Visitors

DEFAULT_MAX_RUNS = 2          # a 2-vCPU Space: each run takes about one core
# Handlers other than the tick are short (a command to a session, a generator pass), so a
# handful may run together; CPU-heavy ones set their own lower limit.
DEFAULT_CONCURRENCY = 4
# Gradio's temp files (exports, GIFs, latent strips, uploads): every minute, delete those older
# than exports.KEEP_FILES_S, so the disk stays flat however long the Space runs. (The live
# sample grid is inline in the page and writes no file.)
DELETE_CACHE = (60, KEEP_FILES_S)
# Gradio's queue loop polls every 1 ms on Linux when nothing is queued: ~0.05 cores and a
# thousand GIL hand-offs a second beside every training thread (bench/RESULTS.md §8). 20 ms
# (Gradio's own Windows value is 50 ms) costs a click at most 20 ms of latency.
QUEUE_POLL_S = 0.02
MALLOC_ARENAS = 2
M_ARENA_MAX = -8              # glibc's mallopt parameter number (malloc.h)

INTRO = """## GAN Playground · watch a GAN learn
<span class="intro">Two networks in a contest: the **generator G** turns noise into samples, the **discriminator D** tells them from real data. Pick a lesson, press **Start**, change the knobs while it runs.</span>"""


# Layout fixes Gradio has no parameter for. They travel inside the page (a hidden gr.HTML's
# `head`), so they apply however the app is launched (app.py, a Space, the tests).
# - A chart's title is Gradio's block label, which floats over the figure's top-left corner,
#   right where the legend is: put it above the figure instead.
# - Sample grids and latent strips are small PNGs (~300 px): let them grow to their box, with
#   crisp pixels rather than blur.
CSS = """
.block:has(> .js-plotly-plot) > label[data-testid="block-label"] {
    position: static; margin: var(--block-label-margin) 0 0 var(--block-label-margin);
}
#grid_image img, #latent_strip_image img, #latent_sample img, #latent_gif img {
    object-fit: contain; image-rendering: pixelated;
}
/* Image labels float over the first frame: put them above the picture. */
#latent_strip_image > label[data-testid="block-label"], #latent_gif > label[data-testid="block-label"] {
    position: static; margin: var(--block-label-margin) 0 0 var(--block-label-margin);
}
/* Plotly's toolbar would sit on the legends (top of every chart); drag to zoom and double-click
   to reset still work without it. */
.js-plotly-plot .modebar-container { display: none !important; }
.intro { font-size: 1.05em; }
/* The Presentation toggle sits in the page's top-right corner, out of the layout's way. */
#presentation { position: absolute; top: 10px; right: 12px; width: auto; min-width: 0; z-index: 5; }
/* On a phone the corner is the title's: the toggle takes its own line under it instead. */
@media (max-width: 640px) { #presentation { position: static; align-self: flex-end; } }
/* Presentation mode (the toggle in the header): bigger text for the back of a lecture hall. */
body.presentation .prose, body.presentation label, body.presentation textarea,
body.presentation input, body.presentation button { font-size: 18px !important; }
/* Ticks and axis titles only: Plotly sizes a legend's items from the font it drew them with, so
   a legend enlarged by CSS would clip its own labels ("generatec"). Legends stay at 14 px. */
body.presentation .js-plotly-plot :is(.xtick, .ytick, .y2tick) text,
body.presentation .js-plotly-plot :is(.xtitle, .ytitle, .y2title) { font-size: 17px !important; }
""" + f"#grid_image img {{ display: block; width: 100%; height: {FIELD_HEIGHT}px; }}\n"


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """What MALLOC_ARENA_MAX=2 does, from inside the process (call it before threads start).

    glibc gives busy threads their own malloc arenas (up to 8 per core), and memory freed in one
    arena is rarely returned while others hold live blocks: with a trainer thread per visitor
    and Gradio's worker threads, a 5-minute 6-visitor soak kept growing (+104 MB); with 2 arenas
    it grew +56 MB and flattened (bench/RESULTS.md §6). False where there is no glibc mallopt.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.mallopt(M_ARENA_MAX, count) == 1
    except (OSError, AttributeError):
        return False


def max_runs_from_env() -> int:
    """GAN_PLAYGROUND_MAX_RUNS (default 2): how many runs may train at the same time."""
    raw = os.environ.get("GAN_PLAYGROUND_MAX_RUNS", str(DEFAULT_MAX_RUNS))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"GAN_PLAYGROUND_MAX_RUNS={raw!r} is not allowed: an integer >= 1")
    return value


def served_app() -> gr.Blocks:
    """The app as app.py and `python -m playground serve` serve it: one torch thread, few malloc
    arenas, at most GAN_PLAYGROUND_MAX_RUNS runs at once, each visitor's run in its own
    process (process_session.py), and the fork server those processes come from warming up."""
    from ..process_session import ProcessSession, warm_up
    from ..trainer import set_threads
    # One torch thread per process: these small models are fastest that way, and two threads
    # collapse 50-100x as soon as another run competes for the 2 cores (bench/RESULTS.md).
    set_threads(1)
    # Few malloc arenas: a long-running server with a thread per run otherwise creeps in memory.
    limit_malloc_arenas()
    demo = build_app(SessionRegistry(max_running=max_runs_from_env(), session_class=ProcessSession))
    warm_up()
    return demo


def build_app(registry: SessionRegistry | None = None, visitors: Visitors | None = None) -> gr.Blocks:
    """The Gradio app, queued and ready to launch (with the caller's registry / visitors, if given)."""
    if registry is None:          # (not `registry or ...`: an empty registry is falsy, it has __len__)
        registry = SessionRegistry(max_running=DEFAULT_MAX_RUNS)
    # The page opens on DEFAULT_PRESET's values; a new visitor's session must hold the same.
    registry.config = get_preset(DEFAULT_PRESET).config
    if visitors is None:          # (not `or`: an empty Visitors is falsy, it has __len__)
        visitors = Visitors(lesson=DEFAULT_PRESET)
    registry.on_close(visitors.forget)
    train, latent = TrainHandlers(registry, visitors), LatentHandlers(registry, visitors)

    def close_session(request: gr.Request) -> None:
        train.close(request)

    with gr.Blocks(title="GAN Playground", delete_cache=DELETE_CACHE) as demo:
        gr.HTML("", head=f"<style>{CSS}</style>", visible="hidden", elem_id="page_style")
        gr.Markdown(INTRO)
        presentation = gr.Button("Presentation mode", elem_id="presentation", size="sm")
        # Pure page style, no server round trip: bigger text for a lecture hall.
        presentation.click(None, js="() => { document.body.classList.toggle('presentation'); }")
        # Always on; a tick with nothing new costs one snapshot and sends gr.skip()s.
        timer = gr.Timer(TICK_S)
        with gr.Tabs(elem_id="main_tabs") as tabs:
            with gr.Tab("Train", id="train"):
                demo.train_page = build_train_tab(train, timer)
            with gr.Tab("Latent space", id="latent") as latent_tab:
                demo.latent_page = build_latent_tab(latent, latent_tab)
            with gr.Tab("Dirac-GAN", id="dirac"):
                build_dirac_tab()
            demo.extra_pages = build_extra_tabs(registry, visitors, demo.train_page, tabs)
        page = demo.train_page
        page.add(tabs, name="main_tabs")
        # A follower's page ticks on this one instead (ui/follow.py); ?follow= switches them.
        follow_timer = gr.Timer(TICK_S, active=False)
        page.add(timer, name="timer")
        page.add(follow_timer, name="follow_timer")
        bind_follow(page, FollowHandlers(registry, visitors, page), follow_timer)
        bind_sharing(page, ShareHandlers(registry, visitors, train), demo)
        demo.unload(close_session)
    demo.registry = registry          # for tests and for app.py's log line
    demo.visitors = visitors
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY)
    quieter_queue(demo)
    return demo


def bind_sharing(page, share: ShareHandlers, demo: gr.Blocks) -> None:
    """Share / follow buttons, and opening a link's query when the page loads."""
    page.on(page["share"].click, share.share, KEYS, ("message", "share_link"),
            api_name="share", show_progress="hidden").then(
        None, page.pick(["share_link"]), page.pick(["share_link"]),
        # the server knows the query, the browser knows the address: join them there
        js="(q) => q && q.startsWith('?') ? window.location.origin + window.location.pathname + q : q")
    page.on(page["follow_start"].click, share.follow_start, (), ("follow_code",),
            api_name="follow_start", show_progress="hidden")
    page.on(page["follow_stop"].click, share.follow_stop, (), ("follow_code",),
            api_name="follow_stop", show_progress="hidden")
    page.on(demo.load, share.open_link, KEYS, LOAD_OUTPUTS, api_name="open_link",
            show_progress="hidden")


def quieter_queue(demo: gr.Blocks) -> None:
    """Slow the idle queue's poll to QUEUE_POLL_S. `_queue.sleep_when_free` is Gradio 6's
    private attribute (pinned in requirements.txt); if it is gone, the default stays."""
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = QUEUE_POLL_S
