"""The README's pictures: full-page screenshots of the real app in Chromium, 1400 px wide.

    .venv/bin/python bench/screenshots.py [--ring-s 25] [--digits-s 30] [--out assets]

Run by hand (not by the tests, which keep their runs short). It serves the app in-process on a
free local port, then, as a lecturer would:
  1. ring_stable: Start, train --ring-s seconds, screenshot the Train tab  -> train_ring.png
  2. digits_dcgan: Start, train --digits-s seconds, screenshot             -> train_digits.png
  3. the Latent space tab of that digits run: Interpolate, screenshot      -> latent.png
Training time is the page's own "elapsed N s" (time spent training). On a busy machine that is
fewer steps: the status line (step reached) is printed for each picture.
Needs Debian's chromium at /usr/bin/chromium (`make browser`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from browser_helpers import VIEWPORT, AppPage, chromium_available, launch_chromium, serve  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from playground.session import SessionRegistry  # noqa: E402
from playground.trainer import set_threads  # noqa: E402

MINUTE_MS = 60_000


def train_for(app: AppPage, preset: str, seconds: float) -> None:
    """Pick `preset`, Start, and wait until the status says `seconds` of training."""
    app.choose_lesson(preset)
    app.click("start")
    app.wait_step_above(0, timeout_s=60)
    app.page.wait_for_function(
        """s => { const m = document.querySelector('#status textarea').value.match(/elapsed (\\d+) s/);
                  return m !== null && Number(m[1]) >= s; }""",
        arg=seconds, timeout=(seconds * 10 + 60) * 1000, polling=500)
    app.page.wait_for_timeout(1500)          # one more tick: charts and samples of this moment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ring-s", type=float, default=25, help="seconds of ring_stable training")
    parser.add_argument("--digits-s", type=float, default=30, help="seconds of digits_dcgan training")
    parser.add_argument("--out", type=Path, default=ROOT / "assets")
    args = parser.parse_args()
    if not chromium_available():
        sys.exit("chromium not installed at /usr/bin/chromium (make browser)")
    set_threads(1)          # as app.py does
    args.out.mkdir(parents=True, exist_ok=True)
    registry = SessionRegistry(max_running=2)
    with serve(registry) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            ring = AppPage(browser.new_context(viewport=VIEWPORT), url)
            train_for(ring, "ring_stable", args.ring_s)
            print(f"ring_stable: {ring.status()}")
            ring.screenshot(args.out / "train_ring.png")
            ring.click("pause")
            ring.context.close()

            digits = AppPage(browser.new_context(viewport=VIEWPORT), url)
            train_for(digits, "digits_dcgan", args.digits_s)
            print(f"digits_dcgan: {digits.status()}")
            digits.screenshot(args.out / "train_digits.png")
            digits.pause()
            digits.open_tab("Latent space")
            frames = digits.page.locator("#frames input[type=number]")
            frames.fill("12")
            frames.blur()
            digits.click("interpolate")
            expect(digits.page.locator("#latent_message")).to_contain_text("frames from seed",
                                                                           timeout=MINUTE_MS)
            digits.page.wait_for_function(
                "() => { const i = document.querySelector('#latent_strip_image img');"
                " return i && i.complete && i.naturalWidth > 0; }", timeout=MINUTE_MS)
            digits.screenshot(args.out / "latent.png")
            digits.context.close()
        finally:
            browser.close()
    for name in ("train_ring.png", "train_digits.png", "latent.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
