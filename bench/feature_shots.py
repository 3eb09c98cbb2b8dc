"""The README's feature pictures: one screenshot per feature of the Train tab, in the real app.

    .venv/bin/python -m bench feature_shots [--out assets] [--quick]

Run by hand, like `bench screenshots` (which takes the layout pictures). It serves the app
in-process and, as a lecturer would, photographs at 1400×900 unless said otherwise:
  1. question.png   ring_collapse's Lesson tab with its "Predict first" question, answered
                    after the run passed the reveal step
  2. share.png      the Share tab: the link and a follow code (1280×720)
  3. follow.png     a student's page opened with ?follow=CODE: the lecturer's run, read-only
  4. history.png    the History scrubber dragged back to an early frame of the same run
  5. explain.png    "Explain one step" in slow motion, at its last phase (G's update)
  6. own_data.png   a CSV of points (a smiley) uploaded on the Files tab, trained
  7. presentation.png  Presentation mode on a 1280×720 projector
Each picture's page state is printed (status line, caption), so a run can be judged without
opening the PNGs. --quick: shorter training, into test-artifacts/screenshots/.
Needs Debian's chromium at /usr/bin/chromium (`make browser`).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.browser import AppPage
from bench.common import ROOT, wait_until
from bench.screenshots import LAPTOP, PROJECTOR, shoot, train_for, wait_trained
from playground.config import get_preset

SMILEY_POINTS = 3000


def smiley_csv(path: Path, seed: int = 0) -> Path:
    """A face of points: a ring, two eyes and a smile (x, y with a header row)."""
    rng = np.random.default_rng(seed)
    parts = []
    angle = rng.uniform(0, 2 * np.pi, SMILEY_POINTS // 2)
    parts.append(np.c_[np.cos(angle), np.sin(angle)])
    for cx in (-0.35, 0.35):
        parts.append(rng.normal((cx, 0.35), 0.06, (SMILEY_POINTS // 8, 2)))
    smile = rng.uniform(np.pi * 1.15, np.pi * 1.85, SMILEY_POINTS // 4)
    parts.append(np.c_[0.55 * np.cos(smile), 0.55 * np.sin(smile) + 0.05])
    points = np.concatenate(parts) + rng.normal(0, 0.015, (sum(len(p) for p in parts), 2))
    np.savetxt(path, points, delimiter=",", header="x,y", comments="", fmt="%.4f")
    return path


def open_history_early(app: AppPage) -> str:
    """Open the History accordion and drag its slider to the second frame; returns its caption."""
    app.page.click("#history .label-wrap") if app.page.query_selector("#history .label-wrap") \
        else app.page.click("#history")
    slider = app.page.locator("#history_slider input[type=range]")
    slider.wait_for(state="visible", timeout=10_000)
    slider.focus()
    slider.press("Home")
    slider.press("ArrowRight")
    wait_until(lambda: re.search(r"step \d+", app.page.inner_text("#history_view")), 15,
               "a history frame")
    app.page.wait_for_timeout(1000)
    app.page.locator("#history").scroll_into_view_if_needed()
    return app.page.inner_text("#history_view").splitlines()[0]


def explain_to_the_end(app: AppPage) -> str:
    """Explain one step, then Next to the last phase; returns the caption shown."""
    app.click("explain_step")
    wait_until(lambda: "1 of" in app.page.inner_text("#explain_caption"), 30, "slow motion")
    while True:
        caption = app.page.inner_text("#explain_caption")
        found = re.search(r"(\d+) of (\d+)", caption)
        if found is None or found.group(1) == found.group(2):
            break
        app.click("explain_next")
        wait_until(lambda: app.page.inner_text("#explain_caption") != caption, 15, "the next phase")
    app.page.wait_for_timeout(1500)
    app.page.locator("#explain").scroll_into_view_if_needed()
    return app.page.inner_text("#explain_caption")


def lecture_pictures(browser, url: str, seconds: float, out: Path) -> list[Path]:
    """ring_collapse: question, share, a follower, history, slow motion, presentation."""
    app = AppPage(browser.new_context(viewport=LAPTOP), url)
    shots = []
    try:
        app.choose_lesson("ring_collapse")
        app.open_side_tab("Lesson")
        app.page.locator("#question label").first.click()       # a student's guess
        train_for(app, "ring_collapse", seconds)
        reveal = get_preset("ring_collapse").question["reveal_step"]
        app.wait_step_above(reveal, timeout_s=600)
        wait_until(lambda: "Answer" in app.page.inner_text("#answer"), 30, "the answer")
        print(f"question: {app.status()} | {app.page.inner_text('#answer')[:80]!r}")
        app.page.evaluate("() => window.scrollTo(0, 0)")
        shots.append(app.screenshot(out / "question.png", full_page=False))

        app.page.set_viewport_size(PROJECTOR)
        app.open_side_tab("Share")
        app.click("share")
        app.click("follow_start")
        wait_until(lambda: "follow=" in app.page.inner_text("#follow_code"), 15, "a follow code")
        code = re.search(r"follow=(\w+)", app.page.inner_text("#follow_code")).group(1)
        print(f"share: {app.page.input_value('#share_link textarea')} | follow {code}")
        shots.append(app.screenshot(out / "share.png", full_page=False))

        student = AppPage(browser.new_context(viewport=PROJECTOR), url + f"?follow={code}")
        student.wait_step_above(0, timeout_s=30)
        student.page.wait_for_timeout(2500)
        print(f"follow: {student.status()}")
        shots.append(student.screenshot(out / "follow.png", full_page=False))
        student.context.close()

        app.pause()
        app.page.set_viewport_size(LAPTOP)
        print(f"history: {open_history_early(app)}")
        shots.append(app.screenshot(out / "history.png", full_page=False))
        print(f"explain: {explain_to_the_end(app)!r}")
        shots.append(app.screenshot(out / "explain.png", full_page=False))

        app.page.set_viewport_size(PROJECTOR)
        app.page.evaluate("() => window.scrollTo(0, 0)")
        app.click("presentation")
        app.page.wait_for_timeout(1500)
        shots.append(app.screenshot(out / "presentation.png", full_page=False))
    finally:
        app.context.close()
    return shots


def own_data_picture(browser, url: str, seconds: float, out: Path) -> Path:
    """A smiley CSV uploaded on the Files tab, then trained."""
    app = AppPage(browser.new_context(viewport=LAPTOP), url)
    try:
        with tempfile.TemporaryDirectory() as work:
            app.open_side_tab("Files")
            app.page.set_input_files("#points_upload input[type=file]",
                                     str(smiley_csv(Path(work) / "smiley.csv")))
            wait_until(lambda: "ready as Data" in app.page.inner_text("#message"), 30,
                       "the CSV to be staged")
            print(f"own data: {app.page.inner_text('#message')[:100]!r}")
            app.click("start")
            wait_trained(app, seconds)
            print(f"own data: {app.status()}")
            return app.screenshot(out / "own_data.png", full_page=False)
    finally:
        app.context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="seconds of training per run")
    parser.add_argument("--out", type=Path, default=None, help="folder (default assets/)")
    parser.add_argument("--quick", action="store_true", help="4 s each, into test-artifacts/screenshots")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 4
    out = args.out or (ROOT / "test-artifacts" / "screenshots" if args.quick else ROOT / "assets")
    shots = shoot(out, lambda browser, url: lecture_pictures(browser, url, args.seconds, out)
                  + [own_data_picture(browser, url, args.seconds, out)])
    return 0 if shots else 2


if __name__ == "__main__":
    sys.exit(main())
