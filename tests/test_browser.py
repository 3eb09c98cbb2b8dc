"""The app in a real browser, used the way a lecturer uses it: pick a lesson, Start, watch the
charts and samples move, Pause, walk the latent space, mistype a learning rate, let three
visitors train at once and then leave (their trainer threads must go with them), and see the
whole run on one projector screen (1280×720) and the samples early on a phone (390×844).

Chromium is Debian's /usr/bin/chromium (`make browser` installs it); without it the whole module
skips, saying so. The app runs in-process with its own SessionRegistry (bench.common.serve), so
the tests can check the server side: sessions, trainer configs and "gan-trainer" threads. The
controls sit in the side panel's "Controls" / "Advanced" tabs: AppPage.fill opens the tab
first. Runs are kept short and small; waits poll the page (no fixed sleeps, except the 2 s that
prove a pause holds). Full-page screenshots go to test-artifacts/ (gitignored).
"""
from __future__ import annotations

import re
import time

import pytest

from bench.browser import SLOW_MS, AppPage
from bench.common import chromium_available, launch_chromium, serve, trainer_threads, wait_until
from browser_helpers import ARTIFACTS, PHONE, PROJECTOR, VIEWPORT, describe, outside

if not chromium_available():
    pytest.skip("chromium not installed at /usr/bin/chromium: browser tests skipped",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from playground.budget import estimate_bytes  # noqa: E402
from playground.config import TrainConfig  # noqa: E402
from playground.registry import SessionRegistry  # noqa: E402

FIRST_SCREEN = ("start", "pause", "status", "samples", "prob_plot")


@pytest.fixture(scope="module")
def server():
    """(url, registry) of the real app on a free local port, past its one-time start-up cost."""
    # The first run a process builds pays ~2 s once (budget.estimate_bytes's first forward on
    # the "meta" device imports torch._decomp): a server has paid it after its first visitor.
    # The 5 s the tests allow from Start to a moving status are for every Start after that.
    estimate_bytes(TrainConfig(), (2,))
    registry = SessionRegistry(max_running=4)
    with serve(registry) as url:
        yield url, registry


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(server, browser):
    """Opens the app in a fresh browser context (a fresh Gradio session) per call; closes them
    all afterwards, and their sessions too in case a failed test left one running."""
    url, registry = server
    opened: list[AppPage] = []

    def open_(wait: bool = True, viewport: dict = VIEWPORT) -> AppPage:
        app = AppPage(browser.new_context(viewport=viewport), url, wait=wait)
        opened.append(app)
        return app

    yield open_
    for app in opened:
        app.context.close()
        if app.session_hash:
            registry.close(app.session_hash)


def holds(read, value, seconds: float) -> None:
    """`read()` stays equal to `value` for `seconds` (checked every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert read() == value
        time.sleep(0.2)


def test_lecturer_starts_ring_stable_and_watches_it_train(open_page, server):
    _, registry = server
    app = open_page()
    page = app.page
    # A lesson picked in the dropdown fills the controls and shows its text.
    app.choose_lesson("ring_collapse")
    app.choose_lesson("ring_stable")
    expect(page.locator("#lesson")).to_contain_text("8 Gaussians on a ring")
    expect(page.locator("#message")).to_contain_text("Loaded “A GAN that works”")
    assert app.control("d_steps").input_value() == "2"

    app.click("start")
    first = app.wait_step_above(0, timeout_s=5)
    later = app.wait_step_above(first, timeout_s=5)
    assert later > first and app.status().startswith("running")

    # Both curve charts draw two lines each, and the lines grow as training goes on.
    loss = app.wait_plot_drawn("loss_plot", 2, timeout_s=15)
    prob = app.wait_plot_drawn("prob_plot", 2, timeout_s=15)
    assert {"D loss", "G loss"} <= {name for _, name in app.plot_traces("loss_plot")}
    assert {"D(x) real", "D(G(z)) fake"} <= {name for _, name in app.plot_traces("prob_plot")}
    wait_until(lambda: app.plot_paths("loss_plot") != loss and app.plot_paths("prob_plot") != prob,
               15, "the loss and D(x) charts to update")

    # The samples show the 2D field (D's heatmap, real and generated points), not the image grid.
    expect(page.locator("#samples #field_plot .js-plotly-plot")).to_be_visible()
    expect(page.locator("#grid_image")).to_be_hidden()
    field = app.plot_traces("field_plot")
    assert ["heatmap", "D(x)"] in field and ["scatter", "generated"] in field
    assert ["scatter", "real data"] in field
    app.screenshot(ARTIFACTS / "train_ring.png")

    app.pause()
    held = app.step()
    holds(app.step, held, 2.0)
    assert not registry.get(app.session_hash).running


def test_digits_grid_appears_and_changes(open_page):
    app = open_page()
    page = app.page
    app.choose_lesson("digits_mlp")
    app.click("start")
    first = wait_until(lambda: app.image("grid_image"), 30, "the sample grid image")
    expect(page.locator("#field_plot")).to_be_hidden()
    # 64 samples in an 8 x 8 grid of 8x8 digits, scaled up: a real picture, not an icon.
    assert first["width"] >= 8 * 8 * 2 and first["height"] >= 8 * 8 * 2
    wait_until(lambda: (app.image("grid_image") or first)["src"] != first["src"], 20,
               "the sample grid to change as G trains")
    app.screenshot(ARTIFACTS / "train_digits.png")
    app.pause()


def test_latent_tab_walks_between_two_digits(open_page):
    app = open_page()
    page = app.page
    app.choose_lesson("digits_mlp")
    app.click("start")
    app.wait_step_above(100, timeout_s=30)
    app.pause()

    app.open_tab("Latent space")
    app.click("interpolate")
    expect(page.locator("#latent_message")).to_contain_text("8 frames from seed 1 to seed 2",
                                                            timeout=SLOW_MS)
    strip = wait_until(lambda: app.image("latent_strip_image"), 15, "the interpolation strip")
    assert strip["width"] > 4 * strip["height"]          # 8 frames side by side
    expect(page.locator("#latent_path")).to_be_hidden()
    gif = wait_until(lambda: app.image("latent_gif"), 15, "the walk's GIF on the page")
    assert gif["src"].endswith(".gif")
    app.screenshot(ARTIFACTS / "latent.png")


def test_latent_tab_draws_a_path_for_point_data(open_page):
    app = open_page()
    page = app.page
    for _ in range(3):          # the default lesson (ring_stable), one step at a time
        app.click("step")
    wait_until(lambda: app.step() >= 1, 20, "a step")
    app.open_tab("Latent space")
    app.click("interpolate")
    expect(page.locator("#latent_message")).to_contain_text("8 points from seed 1 to seed 2",
                                                            timeout=SLOW_MS)
    wait_until(lambda: ["scatter", "generated"] in app.plot_traces("latent_path"), 15,
               "the latent path over the real data")
    expect(page.locator("#latent_strip_image")).to_be_hidden()


def test_a_bad_learning_rate_is_refused_by_name(open_page, server):
    _, registry = server
    app = open_page()
    page = app.page
    refused = re.compile(r"Learning rate of D \(lr_d\): .*you typed '-0\.001'")
    app.fill("lr_d", "-0.001")
    expect(page.locator("#message")).to_contain_text(refused, timeout=SLOW_MS)
    expect(app.control("lr_d")).to_have_value("0.001", timeout=SLOW_MS)   # the box goes back
    app.fill("lr_d", "0,002")                  # a decimal comma reads as a point
    expect(page.locator("#message")).to_contain_text("Learning rate of D (lr_d) is now 0.002",
                                                     timeout=SLOW_MS)

    # A value that reached no event (pasted, say) is read by Start, which refuses it in the
    # same words; nothing trains.
    app.control("lr_d").fill("-0.001")
    app.click("start")
    expect(page.locator("#message")).to_contain_text(refused, timeout=SLOW_MS)
    expect(app.control("lr_d")).to_have_value("0.002", timeout=SLOW_MS)
    holds(lambda: registry.get(app.session_hash).running, False, 1.0)
    assert app.step() == 0

    app.click("start")
    app.wait_step_above(0, timeout_s=10)
    app.wait_step_above(app.step(), timeout_s=10)
    assert registry.get(app.session_hash).trainer.config.lr_d == 0.002


def test_typing_a_learning_rate_key_by_key_keeps_what_was_typed(open_page, server):
    """A typed box applies on Enter (or blur), so a half-typed '0.000' is never refused and
    put back while the visitor is still typing."""
    _, registry = server
    app = open_page()
    box = app.control("lr_d")
    box.click()
    box.press("Control+a")
    box.press_sequentially("0.0005", delay=150)          # a visitor typing, ~7 keys a second
    box.press("Enter")
    app.page.wait_for_timeout(1500)
    assert (box.input_value(), registry.get(app.session_hash).config.lr_d) == ("0.0005", 0.0005)


def test_three_visitors_train_apart_and_leave_no_threads(open_page, server):
    _, registry = server
    wait_until(lambda: trainer_threads() == 0, 10, "earlier tests' trainer threads to end")
    setups = [dict(seed=11, lr_d=0.001), dict(seed=12, lr_d=0.0005), dict(seed=13, lr_d=0.002)]
    apps = [app.ready() for app in [open_page(wait=False) for _ in setups]]
    for app, setup in zip(apps, setups):
        for key, value in dict(width=16, depth=2, batch_size=32, **setup).items():
            app.fill(key, value)
        app.click("start")
    wait_until(lambda: all(app.step() > 20 for app in apps), 30, "all three runs to train")
    steps = [app.step() for app in apps]          # and each keeps advancing beside the others
    wait_until(lambda: all(app.step() > step for app, step in zip(apps, steps)), 15,
               "all three statuses to advance", every_s=0.3)
    assert trainer_threads() == 3 and registry.running_count() == 3

    sessions = [registry.get(app.session_hash) for app in apps]
    assert len({app.session_hash for app in apps}) == 3
    for session, setup in zip(sessions, setups):
        config = session.trainer.config
        assert (config.seed, config.lr_d, config.width, config.batch_size) == (
            setup["seed"], setup["lr_d"], 16, 32)

    # A live edit on one page reaches that run only.
    apps[0].fill("lr_g", "0.0003")
    expect(apps[0].page.locator("#message")).to_contain_text("is now 0.0003", timeout=SLOW_MS)
    wait_until(lambda: sessions[0].trainer.config.lr_g == 0.0003, 10, "the live edit to apply")
    assert [s.trainer.config.lr_g for s in sessions[1:]] == [0.002, 0.002]
    for app in apps[1:]:
        assert "0.0003" not in app.message()

    # Closing the tabs stops their runs (demo.unload after the heartbeat) and their threads,
    # and the registry forgets their sessions.
    for app in apps:
        app.context.close()
    wait_until(lambda: trainer_threads() == 0 and len(registry) == 0, 30,
               "no gan-trainer threads and no sessions after the three tabs closed")


def test_a_projector_shows_the_run_on_one_screen_and_a_phone_the_samples_early(open_page):
    app = open_page(viewport=PROJECTOR)
    app.click("start")
    first = app.wait_step_above(0, timeout_s=5)
    prob = app.wait_plot_drawn("prob_plot", 2, timeout_s=15)
    boxes = app.boxes(*FIRST_SCREEN)
    app.screenshot(ARTIFACTS / "projector.png", full_page=False)
    wrong = {name: why for name, box in boxes.items() if (why := outside(box, PROJECTOR))}
    assert not wrong, f"not on the first 1280x720 screen: {wrong}; boxes: {describe(boxes)}"
    app.wait_step_above(first, timeout_s=5)
    wait_until(lambda: app.plot_paths("prob_plot") != prob, 15, "the D(x) chart to update")
    app.pause()

    # Presentation mode: ticks readable from the back of a hall, and no legend label clipped.
    sizes = """id => [...document.querySelectorAll('#' + id + ' .xtick text, #' + id + ' .legendtext')]
                     .map(t => [t.classList.contains('legendtext'), parseFloat(getComputedStyle(t).fontSize)])"""
    app.click("presentation")
    measured = app.page.evaluate(sizes, "prob_plot")
    ticks = [size for legend, size in measured if not legend]
    legends = [size for legend, size in measured if legend]
    assert ticks and min(ticks) >= 16 and legends and min(legends) >= 14, measured
    app.page.wait_for_timeout(1500)                  # a redraw of the chart keeps them
    assert [s for _, s in app.page.evaluate(sizes, "prob_plot")] == [s for _, s in measured]

    phone = open_page(viewport=PHONE)
    samples = phone.boxes("samples")["samples"]
    assert samples is not None and samples["y"] < 1.5 * PHONE["height"], (
        "on a 390x844 phone the samples start more than 1.5 screens down; boxes: "
        + describe(phone.boxes("preset", "status", "samples")))
