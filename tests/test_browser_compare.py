"""The Compare and Stability map tabs in a real browser, as a lecturer uses them on a projector.

Compare: the default lesson trains A = minimax and B = non-saturating from seed 0; both runs
advance, the gradient chart draws two series per run, and B's median G gradient norm is at
least 100x A's (read from the comparison's own data). Stability map: a 3 x 3 map fills in under
a visible progress bar, and a click on a square lands in the Train tab with that square's
learning rates in its boxes. Screenshots (1280x720, the first screen) go to test-artifacts/
(assets/compare.png and assets/map.png are the same views after longer runs: a 6 x 6 map).

Chromium is Debian's /usr/bin/chromium; without it the module skips, saying so. The real app
(ui/app.py, which builds these tabs with more_tabs.build_extra_tabs) is served in-process by
bench.common.serve, so the tests can read the jobs from the registry.
"""
from __future__ import annotations

import re
import statistics

import pytest

from bench.browser import SLOW_MS, AppPage
from bench.common import chromium_available, launch_chromium, serve, wait_until
from browser_helpers import ARTIFACTS, PROJECTOR

if not chromium_available():
    pytest.skip("chromium not installed at /usr/bin/chromium: browser tests skipped",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from playground.map_picture import CELL, MARGIN, TOP  # noqa: E402
from playground.registry import SessionRegistry  # noqa: E402

RATIO = 100
MAP_STEPS = 300


@pytest.fixture(scope="module")
def server():
    registry = SessionRegistry(max_running=4)
    with serve(registry) as url:
        yield url, registry


@pytest.fixture
def app(server):
    url, registry = server
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        page = AppPage(chromium.new_context(viewport=PROJECTOR), url)
        yield page
        page.context.close()
        chromium.close()
    registry.close(page.session_hash)


def screenshot(app: AppPage, name: str) -> None:
    app.page.evaluate("window.scrollTo(0, 0)")       # the first screen, as a projector shows it
    app.screenshot(ARTIFACTS / name, full_page=False)


def compare_step(app: AppPage) -> int:
    found = re.search(r"step (\d+)", app.page.locator("#compare_status textarea").input_value())
    return int(found.group(1)) if found else -1


def test_compare_minimax_against_nonsaturating(app, server):
    _, registry = server
    app.open_tab("Compare")
    expect(app.page.locator("#compare_diff")).to_contain_text("B: loss nonsaturating (A: minimax)",
                                                              timeout=SLOW_MS)
    assert app.page.locator("#compare_a_seed input").input_value() == "0"
    app.click("compare_start")
    first = wait_until(lambda: compare_step(app) > 0 and compare_step(app), 60, "the comparison's first steps")
    wait_until(lambda: compare_step(app) > first + 20, 90, "the status to advance")
    job = registry.find(app.session_hash + "#compare")
    lengths = [len(c["step"]) for c in job.snapshot().curves]
    wait_until(lambda: all(len(c["step"]) > n for c, n in zip(job.snapshot().curves, lengths)), 60,
               "both runs' curves to grow")
    app.wait_plot_drawn("compare_grad_plot", 4, timeout_s=30)
    names = [name for _, name in app.plot_traces("compare_grad_plot")]
    assert names == ["A: D grad norm", "A: G grad norm", "B: D grad norm", "B: G grad norm"]
    wait_until(lambda: compare_step(app) >= 150, 180, "150 steps of the comparison")
    app.page.wait_for_timeout(1500)            # one more refresh: charts and samples of this moment
    curves = job.snapshot().curves
    ratio = statistics.median(curves[1]["grad_norm_g"]) / statistics.median(curves[0]["grad_norm_g"])
    assert ratio >= RATIO, f"B/A median G gradient norm {ratio:.3g}"
    expect(app.page.locator("#compare_samples img")).to_have_count(2)
    screenshot(app, "compare.png")
    app.click("compare_pause")
    expect(app.page.locator("#compare_status textarea")).to_have_value(re.compile("^paused"), timeout=SLOW_MS)


def fill(app: AppPage, elem_id: str, value: str) -> None:
    app.page.locator(f"#{elem_id} input").fill(value)


def click_cell(app: AppPage, row: int, col: int, rows: int) -> None:
    """Click the centre of square (row, col), placed as Gradio maps a click to the image's pixel."""
    image = app.page.locator("#map_plot img")
    box = image.bounding_box()
    natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    scale = min(box["width"] / natural[0], box["height"] / natural[1], 1)
    left = (box["width"] - natural[0] * scale) / 2
    top = (box["height"] - natural[1] * scale) / 2
    x, y = MARGIN + CELL * col + CELL / 2, TOP + CELL * (rows - 1 - row) + CELL / 2
    image.click(position={"x": left + x * scale, "y": top + y * scale})


def test_map_fills_in_and_a_click_opens_the_cell(app, server):
    page = app.page
    app.open_tab("Stability map")
    for elem_id, value in (("map_x_from", "5e-4"), ("map_x_to", "2e-3"), ("map_x_count", "3"),
                           ("map_y_from", "1e-3"), ("map_y_to", "4e-3"), ("map_y_count", "3"),
                           ("map_steps", str(MAP_STEPS))):
        fill(app, elem_id, value)
    app.click("map_start")
    bar = page.locator("#map_progress [role=progressbar]")
    expect(bar).to_be_visible(timeout=SLOW_MS)
    expect(bar).to_have_attribute("aria-valuemax", "9", timeout=SLOW_MS)
    seen = set()

    def finished() -> bool:
        seen.add(bar.get_attribute("aria-valuenow"))
        return "9" in seen
    wait_until(finished, 300, "all 9 cells of the map", every_s=0.2)
    assert {"3", "6"} & seen, f"the bar never showed a part of the map done: {sorted(seen)}"
    expect(page.locator("#map_progress")).to_contain_text("cells 9 / 9 done", timeout=SLOW_MS)
    expect(page.locator("#map_message")).to_contain_text("The map is finished", timeout=SLOW_MS)
    wait_until(lambda: app.image("map_plot"), 30, "the map picture")
    screenshot(app, "map.png")
    click_cell(app, row=1, col=2, rows=3)       # lr_d 0.002 (third column), lr_g 0.002 (middle row)
    expect(page.get_by_role("tab", name="Train", exact=True)).to_have_attribute("aria-selected", "true",
                                                                                timeout=SLOW_MS)
    expect(page.locator("#message")).to_contain_text("Opened the map's cell", timeout=SLOW_MS)
    assert app.control("lr_d").input_value() == "0.002"
    assert app.control("lr_g").input_value() == "0.002"
