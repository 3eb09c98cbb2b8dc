"""Driving the real app in Chromium: shared by tests/test_browser.py and bench/screenshots.py.

The app runs in-process (build_app with the caller's SessionRegistry, so a test can look at the
sessions and count "gan-trainer" threads) on 127.0.0.1 and a free port. Chromium is Debian's
/usr/bin/chromium driven by Playwright's Python package; `playwright install` is never needed.

Selectors are those of the DOM Gradio 6.31 serves: a component's elem_id lands on its outer
block, so the status text is `#status textarea`, a number is `#lr_d input`, a Plotly figure is
`#loss_plot .js-plotly-plot` and an image is `#grid_image img`.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"          # gitignored
VIEWPORT = {"width": 1400, "height": 900}
SLOW_MS = 20_000             # page waits: generous, another process may be benchmarking on the 2 cores
HEARTBEAT_S = "0.3"          # a closed tab is noticed (and demo.unload fires) within ~a second


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def trainer_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gan-trainer")


@contextlib.contextmanager
def serve(registry) -> Iterator[str]:
    """The real app on 127.0.0.1:<free port>, heartbeat shortened; yields its URL."""
    from playground.ui.app import build_app

    saved = {k: os.environ.get(k) for k in ("GRADIO_HEARTBEAT_INTERVAL", "GRADIO_ANALYTICS_ENABLED")}
    # Gradio reads the heartbeat interval per connection, so setting it before launch suffices.
    os.environ["GRADIO_HEARTBEAT_INTERVAL"] = HEARTBEAT_S
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(registry)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, every_s: float = 0.1):
    """Poll `condition` until it is truthy (and return it); fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(every_s)


# --- one page of the app -------------------------------------------------------------------
class AppPage:
    """A Playwright page on the app, with the few gestures a lecturer makes."""

    def __init__(self, context, url: str, wait: bool = True):
        """Open the app; wait=False returns at once (call ready() later: pages load in parallel)."""
        self.context = context
        self.session_hash: str | None = None
        self.page = context.new_page()
        # The page's Gradio session is the registry's key: read it off the heartbeat URL.
        self.page.on("request", self._note_session)
        self.page.goto(url, wait_until="load" if wait else "commit")
        if wait:
            self.ready()

    def ready(self) -> "AppPage":
        """Wait until the app has rendered its controls and its session is known."""
        self.page.wait_for_selector("#status textarea", timeout=30_000)
        deadline = time.monotonic() + 10
        while self.session_hash is None:          # request events arrive during Playwright calls
            if time.monotonic() > deadline:
                raise AssertionError("the page opened no heartbeat: no Gradio session hash")
            self.page.wait_for_timeout(100)
        return self

    def _note_session(self, request) -> None:
        found = re.search(r"/heartbeat/([^/?#]+)", request.url)
        if found and self.session_hash is None:
            self.session_hash = found.group(1)

    # reading
    def status(self) -> str:
        return self.page.locator("#status textarea").input_value()

    def step(self) -> int:
        found = re.search(r"step (\d+)", self.status())
        return int(found.group(1)) if found else -1

    def message(self) -> str:
        return self.page.locator("#message").inner_text()

    def wait_step_above(self, n: int, timeout_s: float) -> int:
        """Wait until the status shows a step > n (polling in the page); return that step."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        try:
            self.page.wait_for_function(
                """n => { const box = document.querySelector('#status textarea');
                          const m = box && box.value.match(/step (\\d+)/);
                          return m !== null && Number(m[1]) > n; }""",
                arg=n, timeout=timeout_s * 1000, polling=100)
        except PlaywrightTimeout:
            raise AssertionError(f"the status did not pass step {n} within {timeout_s:g} s; "
                                 f"it says {self.status()!r}") from None
        return self.step()

    def plot_paths(self, elem_id: str) -> list[str]:
        """The SVG 'd' of every line trace drawn in the Plotly figure of `elem_id`."""
        return self.page.evaluate(
            """id => [...document.querySelectorAll(`#${id} .js-plotly-plot .scatterlayer path.js-line`)]
                    .map(p => p.getAttribute('d') || '')""", elem_id)

    def plot_traces(self, elem_id: str) -> list[list[str]]:
        """[type, name] of each trace of the Plotly figure of `elem_id` (plotly.js keeps `data`)."""
        return self.page.evaluate(
            """id => { const g = document.querySelector(`#${id} .js-plotly-plot`);
                       return g && g.data ? g.data.map(t => [t.type || 'scatter', t.name || '']) : []; }""",
            elem_id)

    def wait_plot_drawn(self, elem_id: str, traces: int, timeout_s: float) -> list[str]:
        """Wait until the figure draws >= `traces` non-trivial lines; return their paths."""
        return wait_until(lambda: (lambda paths: paths if sum(len(p) > 20 for p in paths) >= traces
                                   else None)(self.plot_paths(elem_id)),
                          timeout_s, f"{traces} drawn lines in #{elem_id}")

    def image(self, elem_id: str) -> dict | None:
        """{src, width, height} of the loaded <img> inside `elem_id`, or None."""
        return self.page.evaluate(
            """id => { const i = document.querySelector(`#${id} img`);
                       return i && i.complete && i.naturalWidth > 0 && i.offsetParent !== null
                              ? {src: i.src, width: i.naturalWidth, height: i.naturalHeight} : null; }""",
            elem_id)

    # gestures
    def choose_preset(self, name: str) -> None:
        """Pick a lesson in the dropdown by its key (options read 'Title (key)')."""
        self.page.locator("#preset input").click()
        # The open list is the page's only listbox; its options carry the label as aria-label.
        self.page.locator(f'[role="option"][aria-label$="({name})"]').click()

    def choose_lesson(self, name: str) -> None:
        """choose_preset, then wait until the lesson's text shows its title."""
        from playwright.sync_api import expect

        from playground.config import get_preset

        self.choose_preset(name)
        expect(self.page.locator("#lesson")).to_contain_text(get_preset(name).title, timeout=SLOW_MS)

    def pause(self) -> None:
        """Press Pause and wait until the status says so."""
        from playwright.sync_api import expect

        self.click("pause")
        expect(self.page.locator("#status textarea")).to_have_value(
            re.compile(r"^paused · step \d+"), timeout=SLOW_MS)

    def fill(self, key: str, value) -> None:
        """Type into a number control (this fires its input event: live edits apply at once)."""
        box = self.page.locator(f"#{key} input")
        box.fill(str(value))
        box.blur()

    def click(self, elem_id: str) -> None:
        self.page.locator(f"#{elem_id}").click()

    def open_tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path
