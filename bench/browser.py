"""AppPage: one Playwright page on the real app, with the gestures a lecturer makes and the few
readings a test or a screenshot needs. Used by tests/test_browser.py and bench/screenshots.py.

Selectors are those of the DOM Gradio 6.31 serves: a component's elem_id lands on its outer
block, so the status (a read-only multi-line Textbox) is `#status textarea`, a typed control
(a one-line gr.Textbox) is `#lr_d input`, a Plotly figure is `#prob_plot .js-plotly-plot` and
an image is `#grid_image img`. The controls live in the Train tab's side panel ("Lesson",
"Controls", "Advanced", "Files"); Gradio mounts a tab's components only once the tab has been
opened, and in a narrow panel it moves the last tabs into a "More tabs" (⋯) menu, so fill()
opens the right tab first and open_side_tab() looks in that menu too.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

SLOW_MS = 20_000             # page waits: generous, another process may be benchmarking on the 2 cores


def control_tab(key: str) -> str:
    """The side-panel tab that holds the control `key` ("Controls" or "Advanced")."""
    from playground.ui.controls import CONTROLS

    return next("Advanced" if c.advanced else "Controls" for c in CONTROLS if c.key == key)


class AppPage:
    """A Playwright page on the app (in its own browser context: its own Gradio session)."""

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

    def __enter__(self) -> "AppPage":
        return self

    def __exit__(self, *exc) -> None:
        self.context.close()           # the page's browser context, and with it its session

    def ready(self) -> "AppPage":
        """Wait until the app has rendered its run bar and its session is known."""
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

    # --- reading -----------------------------------------------------------------------------
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
        from bench.common import wait_until

        def drawn():
            paths = self.plot_paths(elem_id)
            return paths if sum(len(p) > 20 for p in paths) >= traces else None
        return wait_until(drawn, timeout_s, f"{traces} drawn lines in #{elem_id}")

    def image(self, elem_id: str) -> dict | None:
        """{src, width, height} of the loaded, visible <img> inside `elem_id`, or None."""
        return self.page.evaluate(
            """id => { const i = document.querySelector(`#${id} img`);
                       return i && i.complete && i.naturalWidth > 0 && i.offsetParent !== null
                              ? {src: i.src, width: i.naturalWidth, height: i.naturalHeight} : null; }""",
            elem_id)

    def boxes(self, *elem_ids: str) -> dict[str, dict | None]:
        """{elem_id: {x, y, width, height}} in CSS pixels from the viewport's top left (None if
        absent): where the element is on the screen right now."""
        return {name: self.page.evaluate(
            """id => { const e = document.getElementById(id); if (!e) return null;
                       const r = e.getBoundingClientRect();
                       return {x: r.x, y: r.y, width: r.width, height: r.height}; }""", name)
            for name in elem_ids}

    # --- gestures ----------------------------------------------------------------------------
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

    def control(self, key: str):
        """The text box of the typed control `key`, its side-panel tab opened first."""
        self.open_side_tab(control_tab(key))
        box = self.page.locator(f"#{key} input")
        box.wait_for(state="visible", timeout=SLOW_MS)
        return box

    def fill(self, key: str, value) -> None:
        """Type `value` into a typed control and press Enter, as a visitor does: a typed box
        applies on Enter or when it loses focus (train_tab._bind), never per keystroke."""
        box = self.control(key)
        box.fill(str(value))
        box.press("Enter")

    def click(self, elem_id: str) -> None:
        self.page.locator(f"#{elem_id}").click()

    def open_tab(self, name: str) -> None:
        """A top-level tab ("Train", "Latent space")."""
        self.page.get_by_role("tab", name=name, exact=True).click()

    def open_side_tab(self, name: str) -> None:
        """A tab of the Train tab's side panel, also when Gradio has moved it into ⋯ More tabs."""
        tabs = self.page.locator("#side_tabs")
        tab = tabs.get_by_role("tab", name=name, exact=True)
        if tab.count() and tab.first.is_visible():
            if tab.first.get_attribute("aria-selected") != "true":
                tab.first.click()
            return
        tabs.get_by_role("button", name="More tabs").click()
        tabs.locator(".overflow-dropdown button", has_text=name).click()

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path
