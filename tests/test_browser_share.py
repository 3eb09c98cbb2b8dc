"""A share link in a fresh Chromium page: every control it carries is restored, the controls it
names are hidden, and autostart trains; a follower's page shows the lecturer's run."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from bench.common import chromium_available, launch_chromium, serve, wait_until
from playground.config import get_preset
from playground.registry import SessionRegistry
from playground.ui.controls import CONTROLS, values_from_config
from playground.ui.share import link_query, parse_set

pytestmark = pytest.mark.skipif(not chromium_available(),
                                reason="Debian's /usr/bin/chromium is not installed (make test installs it as root)")
playwright_api = pytest.importorskip("playwright.sync_api")


def box_value(page, key: str):
    """What a control shows: a text box's text, a dropdown's label, a checkbox's state."""
    if page.query_selector(f"#{key} input[type=checkbox]"):
        return page.is_checked(f"#{key} input[type=checkbox]")
    field = page.query_selector(f"#{key} textarea") or page.query_selector(f"#{key} input")
    return field.input_value()


def open_side_tab(page, name: str) -> None:
    page.click(f'#side_tabs button[role=tab]:has-text("{name}")')


def step_shown(page) -> int:
    return int(re.search(r"step (\d+)", page.input_value("#status textarea")).group(1))


def test_a_share_link_restores_its_controls_hides_and_autostarts():
    registry = SessionRegistry(max_running=3)
    wanted = get_preset("ring_collapse").config.replace(lr_d=0.004, d_steps=3, beta1=0.6, seed=7,
                                                        width=32)
    query = link_query("ring_collapse", values_from_config(wanted))
    carried = parse_set(parse_qs(urlparse(query).query)["set"][0])
    shown = values_from_config(wanted)
    with serve(registry) as url, playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url + query + "&hide=loss,files&autostart=1")
            wait_until(lambda: step_shown(page) > 5, 30, "the linked run to start")
            assert "ring_collapse" in page.input_value("#preset input")
            for group in ("Controls", "Advanced"):
                open_side_tab(page, group)
                for control in CONTROLS:
                    if control.key in carried and control.key != "loss" and page.is_visible(f"#{control.key}"):
                        assert box_value(page, control.key) == str(shown[control.key]), control.key
            assert not page.is_visible("#loss")
            assert not page.is_visible('#side_tabs button[role=tab]:has-text("Files")')
            # The lecturer lets students follow; a student's fresh page shows the same run.
            open_side_tab(page, "Share")
            page.click("#follow_start")
            wait_until(lambda: "follow=" in page.inner_text("#follow_code"), 10, "a follow code")
            code = re.search(r"follow=(\w+)", page.inner_text("#follow_code")).group(1)
            student = browser.new_page(viewport={"width": 390, "height": 844})
            student.goto(url + f"?follow={code}")
            wait_until(lambda: step_shown(student) > 0, 20, "the follower to see the run")
            first = step_shown(student)
            wait_until(lambda: step_shown(student) > first, 20, "the followed run to advance")
            # The charts come through the follower's own tick (ui/follow.py), pre-serialised.
            wait_until(lambda: student.locator("#loss_plot .scatterlayer .trace").count() > 0,
                       20, "the follower's loss curves")
            assert not student.is_visible("#start") and "read-only" in student.inner_text("#message")
        finally:
            browser.close()                       # the tabs' unload ends their runs
