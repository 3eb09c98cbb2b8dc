"""The README's pictures: the real app in Chromium on a projector, a laptop and a phone.

    .venv/bin/python -m bench screenshots [--ring-s 25] [--digits-s 30] [--out assets] [--quick]

Run by hand (not by the tests, which keep their runs short). It serves the app in-process on a
free local port, then, as a lecturer would:
  1. ring_stable: Start, train --ring-s seconds, and photograph the same page at three sizes:
     1280×720, the first screen only (what a lecture-hall projector shows) -> train_projector.png
     1400×900, the whole page (a laptop)                                   -> train_1400.png
     390×844, the whole page (a phone)                                     -> train_phone.png
  2. digits_dcgan at 1400×900: Start, train --digits-s seconds, the page  -> train_digits.png
  3. the Latent space tab of that digits run: 12 frames, Interpolate      -> latent.png
  4. wgan_gp_grid's two acts at 1280×720 (first screen): the cloud after --wgan-early steps
     -> wgan_cloud.png, the clusters after --wgan-late steps                -> wgan_clusters.png
For each size it prints where the run bar, the samples and D(x)/D(G(z)) are on the first
screen (CSS pixels), so a layout change can be judged without opening the pictures.
Training time is the page's own "elapsed N s" (time spent training): on a busy machine that is
fewer steps, so the status line (step reached) is printed for each picture. --quick: 4 s of
training each, pictures into test-artifacts/screenshots/ (a smoke test of the script).
Needs Debian's chromium at /usr/bin/chromium (`make browser`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.browser import AppPage
from bench.common import ROOT, chromium_available, launch_chromium, serve

MINUTE_MS = 60_000
PROJECTOR = {"width": 1280, "height": 720}
LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
WATCHED = ("preset", "start", "pause", "status", "samples", "prob_plot", "side_panel")


def train_for(app: AppPage, preset: str, seconds: float) -> None:
    """Pick `preset` (unless the page shows it already), Start, and wait for `seconds` of training."""
    if not app.page.input_value("#preset input").endswith(f"({preset})"):
        app.choose_lesson(preset)
    app.click("start")
    wait_trained(app, seconds)


def wait_trained(app: AppPage, seconds: float) -> None:
    """Wait until the run has trained `seconds` (the status line's elapsed), and one more tick."""
    app.wait_step_above(0, timeout_s=60)
    app.page.wait_for_function(
        """s => { const m = document.querySelector('#status textarea').value.match(/elapsed (\\d+) s/);
                  return m !== null && Number(m[1]) >= s; }""",
        arg=seconds, timeout=(seconds * 10 + 60) * 1000, polling=500)
    app.page.wait_for_timeout(1500)          # one more tick: charts and samples of this moment


def show_boxes(app: AppPage, size: dict) -> None:
    """Print each watched element's box, and whether it lies on the first screen."""
    print(f"  {size['width']}x{size['height']} (x, y, width, height in CSS px; first screen "
          f"0..{size['width']} x 0..{size['height']}):")
    for name, box in app.boxes(*WATCHED).items():
        if box is None:
            print(f"    #{name:11} absent")
            continue
        inside = (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"]
                  and box["y"] + box["height"] <= size["height"])
        print(f"    #{name:11} {box['x']:6.0f} {box['y']:6.0f} {box['width']:6.0f} {box['height']:6.0f}"
              f"  {'on the first screen' if inside else 'NOT wholly on the first screen'}")


def resized(app: AppPage, size: dict) -> AppPage:
    app.page.set_viewport_size(size)
    app.page.wait_for_timeout(2000)          # Plotly relayouts, and one more tick
    return app


def ring_pictures(browser, url: str, seconds: float, out: Path) -> list[Path]:
    """ring_stable at the three sizes, on one page (one run)."""
    with AppPage(browser.new_context(viewport=PROJECTOR), url) as app:
        train_for(app, "ring_stable", seconds)
        print(f"ring_stable: {app.status()}")
        shots = []
        for size, name, full in ((PROJECTOR, "train_projector.png", False),
                                 (LAPTOP, "train_1400.png", True), (PHONE, "train_phone.png", True)):
            resized(app, size).page.evaluate("() => window.scrollTo(0, 0)")
            show_boxes(app, size)
            shots.append(app.screenshot(out / name, full_page=full))
        app.pause()
    return shots


def digits_pictures(browser, url: str, seconds: float, out: Path) -> list[Path]:
    """digits_dcgan's Train tab, then a 12-frame walk in its Latent space tab."""
    from playwright.sync_api import expect

    with AppPage(browser.new_context(viewport=LAPTOP), url) as app:
        train_for(app, "digits_dcgan", seconds)
        print(f"digits_dcgan: {app.status()}")
        shots = [app.screenshot(out / "train_digits.png")]
        app.pause()
        app.open_tab("Latent space")
        frames = app.page.locator("#frames input[type=number]")
        frames.fill("12")
        frames.press("Enter")
        app.click("interpolate")
        expect(app.page.locator("#latent_message")).to_contain_text("12 frames from seed",
                                                                    timeout=MINUTE_MS)
        app.page.wait_for_function(
            "() => { const i = document.querySelector('#latent_strip_image img');"
            " return i && i.complete && i.naturalWidth > 0; }", timeout=MINUTE_MS)
        shots.append(app.screenshot(out / "latent.png"))
    return shots


def wgan_pictures(browser, url: str, early: int, late: int, out: Path) -> list[Path]:
    """wgan_gp_grid on a projector: the fakes a cloud at step `early`, on the clusters at `late`."""
    with AppPage(browser.new_context(viewport=PROJECTOR), url) as app:
        app.choose_lesson("wgan_gp_grid")
        app.click("start")
        shots = []
        for step, name in ((early, "wgan_cloud.png"), (late, "wgan_clusters.png")):
            app.wait_step_above(step, timeout_s=late / 5 + 120)   # >= 5 steps/s on a busy machine
            app.page.wait_for_timeout(2500)                       # a tick with this step's fakes
            print(f"wgan_gp_grid: {app.status()}")
            shots.append(app.screenshot(out / name, full_page=False))
        app.pause()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ring-s", type=float, default=25, help="seconds of ring_stable training")
    parser.add_argument("--digits-s", type=float, default=30, help="seconds of digits_dcgan training")
    parser.add_argument("--wgan-early", type=int, default=700, help="wgan_gp_grid step of the cloud")
    parser.add_argument("--wgan-late", type=int, default=4500, help="wgan_gp_grid step of the clusters")
    parser.add_argument("--out", type=Path, default=None, help="folder (default assets/)")
    parser.add_argument("--quick", action="store_true", help="4 s each, into test-artifacts/screenshots")
    args = parser.parse_args(argv)
    if args.quick:
        args.ring_s = args.digits_s = 4
        args.wgan_early, args.wgan_late = 20, 40
    out = args.out or (ROOT / "test-artifacts" / "screenshots" if args.quick else ROOT / "assets")
    shots = shoot(out, lambda browser, url: ring_pictures(browser, url, args.ring_s, out)
                  + digits_pictures(browser, url, args.digits_s, out)
                  + wgan_pictures(browser, url, args.wgan_early, args.wgan_late, out))
    return 0 if shots else 2


def shoot(out: Path, take) -> list[Path]:
    """Serve the app as app.py does, open Chromium, and call take(browser, url) -> the pictures;
    prints their paths ([] without chromium)."""
    if not chromium_available():
        print("chromium not installed at /usr/bin/chromium (make browser)", file=sys.stderr)
        return []
    from playwright.sync_api import sync_playwright

    from playground.process_session import ProcessSession
    from playground.registry import SessionRegistry
    from playground.trainer import set_threads

    set_threads(1)          # as app.py does, and its runs in their own processes
    out.mkdir(parents=True, exist_ok=True)
    registry = SessionRegistry(max_running=2, session_class=ProcessSession)
    with serve(registry) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            shots = take(browser, url)
        finally:
            browser.close()
    for path in shots:
        print(path)
    return shots


if __name__ == "__main__":
    sys.exit(main())
