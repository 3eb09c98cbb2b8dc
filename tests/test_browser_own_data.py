"""In Chromium: points drawn on the Files tab's canvas become the data and train; the History
scrubber shows an earlier frame than the last."""
from __future__ import annotations

import re

import pytest

from bench.common import chromium_available, launch_chromium, serve, wait_until
from playground.registry import SessionRegistry

pytestmark = pytest.mark.skipif(not chromium_available(),
                                reason="Debian's /usr/bin/chromium is not installed (make test installs it as root)")
playwright_api = pytest.importorskip("playwright.sync_api")


def step_shown(page) -> int:
    return int(re.search(r"step (\d+)", page.input_value("#status textarea")).group(1))


def test_drawn_points_train_and_the_history_scrubs_back():
    registry = SessionRegistry(max_running=2)
    with serve(registry) as url, playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.click('#side_tabs button[role=tab]:has-text("Files")')
            page.locator("#draw_points").scroll_into_view_if_needed()
            page.click('#draw_points button[aria-label="Brush"]')      # Gradio's draw tool
            canvas = page.locator("#draw_points canvas").last
            canvas.wait_for(state="visible", timeout=20_000)
            box = canvas.bounding_box()
            for row in (0.3, 0.5, 0.7):                     # three strokes across the canvas
                page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * row)
                page.mouse.down()
                for i in range(1, 11):
                    page.mouse.move(box["x"] + box["width"] * (0.2 + 0.06 * i),
                                    box["y"] + box["height"] * (row + 0.02 * (i % 3)), steps=2)
                page.mouse.up()
            page.click("#draw_use")
            wait_until(lambda: "ready as Data" in page.inner_text("#message"), 20, "the drawing to be used")
            page.click("#start")
            wait_until(lambda: step_shown(page) > 30, 40, "the drawn data to train")
            page.click('#side_tabs button[role=tab]:has-text("Controls")')
            assert "own 2D points" in page.input_value("#dataset input")
            page.click("#pause")
            page.click("#history .label-wrap") if page.query_selector("#history .label-wrap") else page.click("#history")
            slider = page.locator("#history_slider input[type=range]")
            slider.wait_for(state="visible", timeout=10_000)
            slider.fill("0")
            wait_until(lambda: "step 0" in page.inner_text("#history_view"), 15, "the first frame")
            slider.focus()
            slider.press("End")                             # the latest frame
            wait_until(lambda: re.search(r"step [1-9]\d*", page.inner_text("#history_view")), 15,
                       "a later frame")
            slider.press("Home")                            # and back to the earliest
            wait_until(lambda: re.search(r"step 0\b", page.inner_text("#history_view")), 15,
                       "the earlier frame again")
        finally:
            browser.close()
