"""What the browser tests add to bench.common and bench.browser: where their pictures go, the
screen sizes they use, and a layout check (is a box on the first screen?).

The shared helpers themselves live in bench/common.py (free_port, trainer_threads, wait_until,
serve, Chromium) and bench/browser.py (AppPage), so the benchmarks and the tests drive the app
the same way and neither imports from the other's folder. They are re-exported here for the
test modules that still import them from `browser_helpers`; new code imports them from bench.
"""
from __future__ import annotations

from bench.browser import SLOW_MS, AppPage
from bench.common import (ROOT, chromium_available, free_port, launch_chromium, serve,
                          trainer_threads, wait_until)

ARTIFACTS = ROOT / "test-artifacts"          # gitignored
VIEWPORT = {"width": 1400, "height": 900}    # a laptop
PROJECTOR = {"width": 1280, "height": 720}   # a lecture-hall projector: one screen, no scrolling
PHONE = {"width": 390, "height": 844}        # a student's phone


def outside(box: dict | None, viewport: dict) -> str:
    """'' when `box` lies wholly inside the first screen of `viewport`, else what is wrong."""
    if box is None:
        return "not on the page"
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    problems = []
    if box["x"] < 0 or box["y"] < 0:
        problems.append(f"starts at ({box['x']:.0f}, {box['y']:.0f})")
    if right > viewport["width"] + 0.5:
        problems.append(f"right edge {right:.0f} > {viewport['width']}")
    if bottom > viewport["height"] + 0.5:
        problems.append(f"bottom edge {bottom:.0f} > {viewport['height']}")
    if box["width"] < 1 or box["height"] < 1:
        problems.append("has no size (hidden?)")
    return ", ".join(problems)


def describe(boxes: dict[str, dict | None]) -> str:
    """The boxes as one line: `#id x,y wxh` each (for failure messages and reports)."""
    return "; ".join(f"#{name} " + ("absent" if b is None else
                                   f"{b['x']:.0f},{b['y']:.0f} {b['width']:.0f}x{b['height']:.0f}")
                     for name, b in boxes.items())


__all__ = ["ARTIFACTS", "PHONE", "PROJECTOR", "SLOW_MS", "VIEWPORT", "AppPage", "chromium_available",
           "describe", "free_port", "launch_chromium", "outside", "serve", "trainer_threads",
           "wait_until"]
