"""The page side of bench/page_rate.py: a client that keeps one run streaming, or stops reading.

Both open the app, pick a lesson, press Start, and then follow on() / off() / wait(seconds):
- BrowserPage: headless Chromium (/usr/bin/chromium via Playwright; never `playwright install`)
  really renders the Plotly charts and the sample grid. off() pauses the page's JavaScript
  through the Chrome DevTools protocol (Debugger.pause): no timer fires, so no tick reaches the
  server, while the page stays connected and its session alive.
- GradioPage: a gradio_client calling /tick at the page's cadence while on, rendering nothing
  (the Space case: the browser runs on someone else's machine).
`requests` counts the events the page sent (ticks, mostly), for the report.
"""
from __future__ import annotations

import time

from bench.browser import AppPage
from bench.common import control_args


class BrowserPage:
    """A Chromium page; off() pauses its JavaScript (no ticks), on() resumes it."""

    def __init__(self, browser, url: str, preset: str):
        self.app = AppPage(browser.new_context(viewport={"width": 1400, "height": 1000}), url)
        self.page = self.app.page
        self.page.on("request", self._count)
        self.requests = 0
        self.streaming = True
        if not self.page.input_value("#preset input").endswith(f"({preset})"):
            self.app.choose_lesson(preset)
            self.page.wait_for_timeout(1000)          # let the controls' events settle
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Debugger.enable")
        self.app.click("start")

    def _count(self, request) -> None:
        if "/queue/join" in request.url:
            self.requests += 1

    def on(self) -> None:
        if not self.streaming:
            self.cdp.send("Debugger.resume")
            self.streaming = True

    def off(self) -> None:
        if self.streaming:
            self.cdp.send("Debugger.pause")
            self.streaming = False

    def wait(self, seconds: float) -> None:
        if self.streaming:
            self.page.wait_for_timeout(seconds * 1000)    # pumps Playwright's events meanwhile
        else:
            time.sleep(seconds)

    def close(self) -> None:
        self.on()
        self.app.click("pause")
        self.page.wait_for_timeout(500)
        self.app.context.close()



class GradioPage:
    """A gradio_client calling /tick every `tick_s` while on (the sample grid comes inline)."""

    def __init__(self, url: str, preset: str, tick_s: float):
        from gradio_client import Client

        from playground.config import get_preset

        self.client = Client(url, verbose=False, download_files=False)
        self.requests = 0
        self.streaming = True
        self.tick_s = tick_s
        self.next_tick = time.perf_counter()
        self.latencies: list[float] = []
        message = self.client.predict(*control_args(self.client, "/start", get_preset(preset).config),
                                      api_name="/start")[0]
        assert message == "Training.", message

    def on(self) -> None:
        self.streaming = True

    def off(self) -> None:
        self.streaming = False

    def wait(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while self.streaming and time.perf_counter() < end:
            self.next_tick = max(self.next_tick, time.perf_counter() - self.tick_s)
            time.sleep(max(0.0, min(self.next_tick, end) - time.perf_counter()))
            if time.perf_counter() >= end:
                break
            self.next_tick += self.tick_s
            sent = time.perf_counter()
            self.client.predict(None, api_name="/tick")   # the argument: the lesson question
            self.requests += 1
            self.latencies.append((time.perf_counter() - sent) * 1000)
        time.sleep(max(0.0, end - time.perf_counter()))

    def close(self) -> None:
        self.client.predict(api_name="/pause")
        self.client.close()

