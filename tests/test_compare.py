"""playground.compare and the Compare tab: A and B from the same initial weights, trained in one
thread, live edits reaching one side only, one run against the cap, stopped with the tab.

Also the comparison lessons (presets with a `compare` key) and what they promise: with the
shipped compare_saturation settings, B's (non-saturating) median G gradient norm is at least
100x A's (minimax) on seeds 0, 1 and 2. `build_demo` is a minimal page assembled as ui/app.py
does it, with build_extra_tabs inside its gr.Tabs; the real build_app must carry the same ids.
"""
from __future__ import annotations

import statistics
import threading
from types import SimpleNamespace

import gradio as gr
import pytest
import torch

from bench.common import wait_until
from playground.compare import Comparison, Pair, comparison_names, differences, read_comparison
from playground.config import TrainConfig, get_preset
from playground.ensemble import Ensemble
from playground.registry import SessionRegistry
from playground.trainer import Trainer
from playground.ui.compare_handlers import (COMPARE_KEYS, CompareHandlers, box_id, column_values,
                                            compare_tick, diff_line)

TINY = TrainConfig(width=16, depth=2, batch_size=32, z_dim=2, device="cpu")
RATIO = 100            # the lesson's promise: B's median G gradient norm >= 100x A's
RATIO_STEPS = 150


def build_demo(registry: SessionRegistry) -> gr.Blocks:
    """ui/app.py's build_app, plus build_extra_tabs inside its gr.Tabs (what the integrator adds)."""
    from playground.ui import app as ui_app
    from playground.ui.dirac_tab import build_dirac_tab
    from playground.ui.latent_handlers import LatentHandlers
    from playground.ui.latent_tab import build_latent_tab
    from playground.ui.more_tabs import build_extra_tabs
    from playground.ui.train_handlers import TrainHandlers
    from playground.ui.train_tab import DEFAULT_PRESET, TICK_S, build_train_tab
    from playground.ui.visitors import Visitors

    registry.config = get_preset(DEFAULT_PRESET).config
    visitors = Visitors(lesson=DEFAULT_PRESET)
    registry.on_close(visitors.forget)
    train, latent = TrainHandlers(registry, visitors), LatentHandlers(registry, visitors)

    def close_session(request: gr.Request) -> None:
        train.close(request)

    with gr.Blocks(title="GAN Playground", delete_cache=ui_app.DELETE_CACHE) as demo:
        gr.HTML("", head=f"<style>{ui_app.CSS}</style>", visible="hidden", elem_id="page_style")
        gr.Markdown(ui_app.INTRO)
        timer = gr.Timer(TICK_S)
        with gr.Tabs(elem_id="main_tabs") as tabs:
            with gr.Tab("Train", id="train"):
                demo.train_page = build_train_tab(train, timer)
            with gr.Tab("Latent space", id="latent") as latent_tab:
                build_latent_tab(latent, latent_tab)
            with gr.Tab("Dirac-GAN", id="dirac"):
                build_dirac_tab()
            demo.extra_pages = build_extra_tabs(registry, visitors, demo.train_page, tabs)
        demo.unload(close_session)
    demo.registry = registry
    demo.queue(default_concurrency_limit=ui_app.DEFAULT_CONCURRENCY)
    return demo


def compare_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gan-compare")



@pytest.fixture
def registry():
    registry = SessionRegistry(max_running=2)
    yield registry
    for key in registry.keys():                  # test cleanup: every job and run
        registry.close(key)


# --- the lessons -----------------------------------------------------------------------------
def test_comparison_lessons_declare_b():
    assert {"compare_saturation", "compare_wgan_grid"} <= set(comparison_names())
    _, a, b = read_comparison("compare_saturation")
    assert differences(a, b) == {"loss": ("minimax", "nonsaturating")}
    preset, a, b = read_comparison("compare_wgan_grid")
    assert a.dataset == "grid" and differences(a, b) == {"loss": ("nonsaturating", "wgan_gp")}
    assert preset.steps > 0 and len(preset.lesson) > 80
    with pytest.raises(Exception, match="compare"):
        read_comparison("ring_stable")          # a lesson without a comparison


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturation_lesson_b_gradient_is_100x_a(seed):
    _, a, b = read_comparison("compare_saturation")
    pair = Pair(a.replace(seed=seed, device="cpu"), b.replace(seed=seed, device="cpu"))
    norms = [[], []]
    for _ in range(RATIO_STEPS):
        for k, stats in enumerate(pair.step()):
            norms[k].append(stats.grad_norm_g)
    ratio = statistics.median(norms[1]) / statistics.median(norms[0])
    assert ratio >= RATIO, f"seed {seed}: B/A median G gradient norm {ratio:.3g}"


# --- the pair ------------------------------------------------------------------------------------
def same_weights(pair: Pair) -> bool:
    (ga, da), (gb, db) = pair.weights(0), pair.weights(1)
    return all(torch.equal(x[n], y[n]) for x, y in ((ga, gb), (da, db)) for n in x)


def test_same_initial_weights_one_ensemble_when_only_rates_differ():
    pair = Pair(TINY, TINY.replace(lr_d=3e-3, lr_g=2e-4))
    assert pair.together and same_weights(pair)
    pair.step()
    assert not same_weights(pair)              # different rates: the two runs part at once


def test_same_initial_weights_two_trainers_when_the_loss_differs():
    pair = Pair(TINY.replace(loss="minimax"), TINY)
    assert not pair.together and pair.trainers is not None and same_weights(pair)
    assert not same_weights(Pair(TINY, TINY.replace(seed=5)))     # the seed is the knob


def test_a_live_edit_in_the_ensemble_matches_a_lone_trainer():
    a, b = TINY, TINY.replace(seed=1)
    ensemble, lone_a, lone_b = Ensemble([a, b]), Trainer(a), Trainer(b)
    for step in range(6):
        if step == 3:
            ensemble.apply(1, lr_d=4e-3, beta1=0.0, label_smoothing=0.1, r1_gamma=0.5)
            lone_b.apply(lr_d=4e-3, beta1=0.0, label_smoothing=0.1, r1_gamma=0.5)
        stats = ensemble.step()
        assert stats[0].d_loss == pytest.approx(lone_a.step().d_loss, rel=1e-4)
        assert stats[1].d_loss == pytest.approx(lone_b.step().d_loss, rel=1e-4)
    for name, tensor in lone_b.discriminator.state_dict().items():
        torch.testing.assert_close(ensemble.discriminator_state(1)[name], tensor, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="d_steps"):
        ensemble.apply(0, d_steps=3)           # a shape key: shared by the members


def test_a_shape_key_edit_splits_the_pair_and_goes_on_exactly():
    pair, lone = Pair(TINY, TINY.replace(lr_d=2e-3)), Trainer(TINY.replace(lr_d=2e-3))
    for _ in range(3):
        pair.step(), lone.step()
    pair.apply(1, d_steps=3)
    lone.apply(d_steps=3)
    assert not pair.together and pair.configs[0].d_steps == 1 and pair.configs[1].d_steps == 3
    stats = pair.step()[1]
    assert stats.d_loss == pytest.approx(lone.step().d_loss, rel=1e-4)


# --- the job -----------------------------------------------------------------------------------------
def test_both_advance_and_a_b_edit_reaches_only_b(registry):
    job = Comparison()
    assert registry.start_job("v#compare", job, TINY, TINY.replace(lr_g=2e-3)).code == "fresh"
    wait_until(lambda: job.snapshot().step > 20, 60, "20 steps")
    notice = job.update("b", lr_d=3e-3)
    assert notice.code == "applied" and dict(notice.get("live")) == {"lr_d": 3e-3}
    wait_until(lambda: job.with_pair(lambda p: p.configs[1].lr_d) == 3e-3, 30, "B's edit to apply")
    assert job.with_pair(lambda p: (p.configs[0].lr_d, p.ensemble.opt_d.lr)) == (1e-3, [1e-3, 3e-3])
    job.pause()
    snap = job.snapshot()
    assert snap.state == "paused" and snap.step > 20 and compare_threads() == 0
    assert len(snap.curves[0]["step"]) == len(snap.curves[1]["step"]) > 0
    later = job.update("a", seed=7)
    assert later.get("later") == ("seed",)    # not live: at the next Start, a fresh pair


def test_a_comparison_is_one_run_against_the_cap(registry):
    registry.max_running = 1
    job = Comparison()
    assert registry.start_job("v#compare", job, TINY, TINY.replace(lr_d=2e-3)).code == "fresh"
    assert registry.running_count() == 1
    assert registry.start("someone", TINY).code == "cap_reached"       # a Train run must wait
    other = Comparison()
    assert registry.start_job("w#compare", other, TINY, TINY).code == "cap_reached"
    assert not other.running
    registry.max_running = 2
    assert registry.start("someone", TINY).code == "started"           # one comparison, one slot
    registry.close("someone")


def test_closing_the_tab_stops_the_comparison(registry):
    from playground.ui.more_tabs import close_jobs
    registry.on_close(close_jobs(registry))
    job = Comparison()
    registry.start_job("v#compare", job, TINY, TINY.replace(lr_d=2e-3))
    wait_until(lambda: job.snapshot().step > 2, 60, "a few steps")
    registry.close("v")                        # demo.unload: the visitor's tab is gone
    assert not job.running and registry.find("v#compare") is None and compare_threads() == 0
    assert job.start().code == "closed"


# --- the handlers and the page ---------------------------------------------------------------------
def test_handlers_start_edit_and_tick(registry):
    handlers, request = CompareHandlers(registry), SimpleNamespace(session_hash="v")
    loaded = handlers.load_lesson(request, {"compare_preset": "compare_saturation"})
    assert loaded["compare_diff"] == "**B:** loss nonsaturating (A: minimax)"
    values = {"compare_preset": "compare_saturation",
              **{k: v for k, v in loaded.items() if k.startswith("compare_a_") or k.startswith("compare_b_")}}
    values.update({box_id(s, k): v for s in "ab" for k, v in (("batch_size", "32"),)})
    out = handlers.start(request, values)
    assert "step 0" in out["compare_message"] or "training" in out["compare_message"].lower()
    job = registry.find("v#compare")
    wait_until(lambda: job.snapshot().step > 5 and job.snapshot().version > 1, 60, "a render after a few steps")
    refused = handlers.edit("b")(request, {**values, box_id("b", "lr_d"): "-1"})
    assert refused["compare_message"].startswith("B: ⚠️ Learning rate of D (lr_d)")
    edited = handlers.edit("b")(request, {**values, box_id("b", "lr_d"): "0,002"})
    assert edited["compare_message"] == "B: Learning rate of D (lr_d) is now 0.002."
    assert "lr_d 0.002 (A: 0.005)" in edited["compare_diff"]
    ticked = compare_tick(job.snapshot(), None)
    names = [trace.name for trace in ticked["compare_grad_plot"].data]
    assert names == ["A: D grad norm", "A: G grad norm", "B: D grad norm", "B: G grad norm"]
    assert "step" in ticked["compare_status"] and ticked["compare_samples"].count("<img") == 2
    copied = handlers.copy_a_to_b(request, values)
    assert copied[box_id("b", "loss")] == "minimax" and "the same" in copied["compare_diff"]
    handlers.pause(request, {})
    assert handlers.tick(request, {"compare_sent": None})["compare_timer"].active is False


def test_columns_and_diff_words():
    a, b = TINY, TINY.replace(loss="minimax", lr_d=2e-3)
    assert set(column_values(a, "a")) == {f"compare_a_{k}" for k in COMPARE_KEYS}
    assert diff_line(a, b) == "**B:** loss minimax (A: nonsaturating) · lr_d 0.002 (A: 0.001)"


@pytest.mark.parametrize("build", ["build_demo", "build_app"])
def test_extra_tabs_build_with_their_ids(build):
    from playground.ui.app import build_app
    demo = {"build_demo": build_demo, "build_app": build_app}[build](SessionRegistry(max_running=2))
    ids = {block.elem_id for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    assert {"compare_start", "compare_pause", "compare_status", "compare_grad_plot", "compare_samples",
            "map_start", "map_progress", "map_plot", "lr_d", "start"} <= ids
    labels = {block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert {"Compare", "Stability map", "Train"} <= labels
