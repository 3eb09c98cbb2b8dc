"""playground.charts: the traces each figure promises, payload sizes a gr.Plot refreshed every second can afford,
and no crash on NaN, inf or empty input."""
import math
import statistics
import time

import numpy as np
import plotly.graph_objects as go
import pytest

from playground import charts
from playground.charts import (FIELD_POINTS, MAX_POINTS, empty_figure, field_figure, grad_figure, loss_figure,
                               prob_figure, quality_figure)

CURVE_FIGURES = [loss_figure, prob_figure, grad_figure]
CURVE_NAMES = {loss_figure: ["D loss", "G loss"], prob_figure: ["D(x) real", "D(G(z)) fake", "0.5: D can't tell"],
               grad_figure: ["D grad norm", "G grad norm"]}


def curves(n=1000, seed=0):
    """A History.columns()-like dict of plain lists."""
    rng = np.random.default_rng(seed)
    return {
        "step": [float(s) for s in range(0, 10 * n, 10)],
        "d_loss": list(1.38 + rng.normal(0, 0.05, n)), "g_loss": list(0.7 + rng.normal(0, 0.05, n)),
        "d_real": list(rng.uniform(0.4, 0.9, n)), "d_fake": list(rng.uniform(0.1, 0.6, n)),
        "grad_norm_d": list(rng.uniform(0.1, 3, n)), "grad_norm_g": list(10 ** rng.uniform(-6, 0, n)),
    }


def field(g=48, k=64, seed=0):
    rng = np.random.default_rng(seed)
    grid = np.linspace(-3, 3, g).astype(np.float32)
    arrows = np.c_[rng.normal(size=(k, 2)), rng.normal(0, 0.2, (k, 2))]
    return {"xs": grid, "ys": grid, "d": rng.uniform(0, 1, (g, g)), "arrows": arrows}


def points(n=2000, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 2)).astype(np.float32)


def xy(trace):
    """A trace's x and y as float arrays (None -> NaN)."""
    return (np.asarray(trace.x if trace.x is not None else [], dtype=float),
            np.asarray(trace.y if trace.y is not None else [], dtype=float))


def names(fig):
    return [t.name for t in fig.data]


def big_field_figure():
    return field_figure(points(seed=1), points(seed=2), field(), manifold=points(400).reshape(20, 20, 2))


# --- curves -----------------------------------------------------------------------------
@pytest.mark.parametrize("make", CURVE_FIGURES)
def test_curve_figures_have_their_lines_and_are_small(make):
    fig = make(curves())
    assert isinstance(fig, go.Figure)
    assert names(fig) == CURVE_NAMES[make]
    assert all(t.type == "scatter" and t.mode == "lines" for t in fig.data)
    curves_only = [t for t in fig.data if not t.name.startswith("0.5")]
    assert all(len(t.x) == MAX_POINTS and t.x.dtype == np.float32 for t in curves_only)   # 1000 -> 500
    assert len(fig.to_json()) < 20_000
    tall = charts.FIELD_HEIGHT if make is prob_figure else charts.CURVE_HEIGHT   # beside the samples
    assert fig.layout.height == tall and fig.layout.uirevision is not None
    assert fig.layout.legend.orientation == "h"


@pytest.mark.parametrize("make", CURVE_FIGURES)
def test_curves_are_thinned_to_max_points_keeping_first_and_latest(make):
    fig = make(curves(n=7919))
    for trace in fig.data:
        x, _ = xy(trace)
        assert 0 < len(x) <= MAX_POINTS
        assert x[0] == 0 and x[-1] == 79180          # the newest value is always on screen
        assert np.all(np.diff(x) > 0)


@pytest.mark.parametrize("make", CURVE_FIGURES)
def test_curves_drop_nan_and_inf(make):
    c = curves(n=50)
    for key in c:
        if key != "step":
            c[key][3], c[key][7], c[key][11] = math.nan, math.inf, None
    c["step"][20] = math.nan
    fig = make(c)
    for trace in fig.data:
        x, y = xy(trace)
        assert np.isfinite(x).all() and np.isfinite(y).all()
        assert len(x) == (2 if trace.name.startswith("0.5") else 46)
    fig.to_json()


@pytest.mark.parametrize("make", CURVE_FIGURES)
@pytest.mark.parametrize("data", [{}, {k: [] for k in curves(1)}, {"step": [1.0, 2.0]},
                                  {"step": [1.0, 2.0, 3.0], "d_loss": [1.0], "d_real": [0.5],
                                   "grad_norm_d": [1.0]}])
def test_curves_survive_empty_and_ragged_input(make, data):
    fig = make(data)
    assert names(fig) == CURVE_NAMES[make]
    assert all(len(xy(t)[0]) <= 2 if t.name.startswith("0.5") else len(xy(t)[0]) <= 1 for t in fig.data)
    fig.to_json()


def test_grad_figure_is_log_and_drops_non_positive():
    c = curves(n=20)
    c["grad_norm_g"][:5] = [0.0, -1.0, 0.0, 1e-9, 2.0]
    fig = grad_figure(c)
    assert fig.layout.yaxis.type == "log"
    _, y = xy(fig.data[1])
    assert len(y) == 17 and (y > 0).all()
    assert loss_figure(c).layout.yaxis.type != "log"


def test_prob_figure_has_the_dashed_equilibrium_line_in_its_legend_and_unit_range():
    fig = prob_figure(curves())
    tie = [t for t in fig.data if t.name.startswith("0.5")]
    assert len(tie) == 1 and tie[0].line.dash == "dash" and set(tie[0].y) == {0.5}
    assert not fig.layout.annotations                 # no label sitting on the curves
    low, high = fig.layout.yaxis.range
    assert low <= 0 and 1 <= high < 1.1


def test_a_critic_reads_as_a_critic():
    """For WGAN / hinge the chart shows scores and their gap, not sigmoids stuck at 0 or 1."""
    c = curves()
    c["score_real"] = [2.0 + 0.01 * i for i in range(len(c["step"]))]
    c["score_fake"] = [-1.0] * len(c["step"])
    fig = prob_figure(c, critic=True)
    assert names(fig) == ["E[D(x)] real", "E[D(G(z))] fake", "gap (Wasserstein estimate)"]
    real, fake, gap = (xy(t)[1] for t in fig.data)
    assert np.allclose(gap, real - fake, atol=1e-4) and np.allclose(gap[0], 3.0)
    assert fig.layout.yaxis.title.text == "critic score"


def test_live_edits_are_marked_on_every_curve_chart():
    edits = [{"step": 40, "lr_d": 0.004}, {"step": 90, "d_steps": 5}]
    for make in (loss_figure, prob_figure, grad_figure):
        fig = make(curves(), edits)
        marks = [s for s in fig.layout.shapes if s.x0 == s.x1]
        assert [m.x0 for m in marks] == [40, 90] and all(m.line.dash == "dot" for m in marks)
        assert [a.text for a in fig.layout.annotations] == ["lr_d 0.004", "d_steps 5"]


def test_ticks_are_readable_on_a_projector():
    for make in (loss_figure, prob_figure, grad_figure):
        assert make(curves()).layout.font.size >= 14


# --- quality ----------------------------------------------------------------------------
def test_quality_of_points_puts_modes_left_and_scores_right():
    evals = [{"step": 500 * i, "modes_covered": i % 9, "modes_total": 8, "high_quality": 0.1 * i,
              "js": 0.5 / (i + 1)} for i in range(1, 9)]
    fig = quality_figure(evals)
    assert names(fig) == ["modes covered", "high-quality fraction", "JS divergence"]
    assert [t.yaxis for t in fig.data] == ["y", "y2", "y2"]
    assert fig.layout.yaxis2.overlaying == "y"
    assert fig.layout.yaxis.range[1] >= 8               # the axis reaches "all modes"
    assert len(xy(fig.data[0])[0]) == 8
    assert len(fig.to_json()) < 10_000


def test_quality_plots_only_what_is_present():
    digits = [{"step": 100 * i, "classes_covered": i, "class_entropy": 1.0, "fd": 30.0 / i,
               "confident": 0.1 * i} for i in range(1, 6)]
    fig = quality_figure(digits)
    # The Fréchet distance (0 to hundreds) would flatten the fraction beside it: CSV only.
    assert names(fig) == ["digit classes covered", "confident fraction"]
    assert fig.layout.yaxis.range[1] >= 10
    js_only = quality_figure([{"step": 100, "js": 0.3}, {"step": 200, "js": 0.2}])
    assert names(js_only) == ["JS divergence"] and js_only.data[0].yaxis == "y"
    assert "yaxis2" not in js_only.layout.to_plotly_json()


def test_quality_count_axis_autoranges_without_a_total():
    fig = quality_figure([{"step": 100, "modes_covered": 30}, {"step": 200, "modes_covered": 40}])
    assert fig.layout.yaxis.range is None and fig.layout.yaxis.rangemode == "tozero"


def test_quality_survives_none_nan_and_missing_step():
    evals = [{"step": 100, "classes_covered": 3, "fd": None}, {"classes_covered": 4},
             {"step": 300, "classes_covered": math.nan, "fd": math.inf}, {"step": 400, "classes_covered": 5}]
    fig = quality_figure(evals)
    assert names(fig) == ["digit classes covered"]
    assert xy(fig.data[0])[0].tolist() == [100, 400]


@pytest.mark.parametrize("evals", [[], [{"step": 100}], [{"step": 100, "fd": None}]])
def test_quality_with_nothing_measured_says_when_it_will_be(evals):
    fig = quality_figure(evals)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "quality is measured every few hundred steps"


def test_empty_figure_centres_its_message():
    fig = empty_figure("no run yet")
    note = fig.layout.annotations[0]
    assert note.text == "no run yet" and (note.x, note.y) == (0.5, 0.5) and not note.showarrow
    assert len(fig.data) == 0 and len(fig.to_json()) < 2_000


# --- the 2D field -----------------------------------------------------------------------
def test_field_figure_layers_and_payload():
    fig = big_field_figure()
    assert [t.type for t in fig.data] == ["heatmap", "scatter", "scatter", "scatter", "scatter"]
    assert names(fig)[1:] == ["real data", "generated", "G's gradient", "latent grid"]
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (48, 48) and (heat.zmin, heat.zmax) == (0, 1)
    assert heat.opacity < 0.7
    assert len(fig.data[1].x) == len(fig.data[2].x) == FIELD_POINTS  # 2000 -> 500 each
    assert len(fig.to_json()) < 100_000


def test_field_colours_purple_fake_to_green_real():
    fig = field_figure(points(), points(seed=2), field())
    scale = fig.data[0].colorscale
    red, green, blue = (int(scale[0][1][i:i + 2], 16) for i in (1, 3, 5))
    assert red > green and blue > green                 # purple at D = 0
    red, green, blue = (int(scale[-1][1][i:i + 2], 16) for i in (1, 3, 5))
    assert green > red and green > blue                 # green at D = 1
    assert scale[len(scale) // 2][0] == 0.5
    assert fig.data[1].marker.color == charts.REAL_COLOUR and fig.data[2].marker.color == charts.G_COLOUR


def gaps(trace):
    """Breaks in a line trace (NaN or None entries)."""
    return int(np.isnan(xy(trace)[0]).sum())


def test_arrows_are_one_gap_separated_trace_from_each_fake():
    f = field(k=10)
    fig = field_figure(points(), points(seed=2), f)
    arrows = fig.data[3]
    assert arrows.mode == "lines" and gaps(arrows) == 10          # one polyline per arrow
    # Arrow 4 runs from its row's (x, y) to (x + dx, y + dy), then draws its two barbs.
    x, y = xy(arrows)
    x0, y0, dx, dy = f["arrows"][4]
    start = 4 * 6                  # per arrow: tail, tip, barb, tip, barb, gap
    assert (x[start], y[start]) == (pytest.approx(x0, abs=1e-5), pytest.approx(y0, abs=1e-5))
    tip = (pytest.approx(x0 + dx, abs=1e-5), pytest.approx(y0 + dy, abs=1e-5))
    assert (x[start + 1], y[start + 1]) == tip and (x[start + 3], y[start + 3]) == tip
    barb = math.hypot(x[start + 2] - x0 - dx, y[start + 2] - y0 - dy)
    assert barb == pytest.approx(0.25 * math.hypot(dx, dy), rel=1e-4)


def test_manifold_is_drawn_as_grid_lines_in_one_trace():
    k = 7
    u = np.linspace(-1, 1, k)
    manifold = np.stack(np.meshgrid(u, u), axis=-1)     # (k, k, 2)
    fig = field_figure(points(), points(seed=2), field(), manifold=manifold)
    grid = fig.data[-1]
    assert grid.name == "latent grid" and gaps(grid) == 2 * k    # k rows and k columns
    assert len(grid.x) == 2 * k * (k + 1)
    assert "latent grid" not in names(field_figure(points(), points(), field()))
    huge = field_figure(points(), points(), field(), manifold=np.zeros((100, 100, 2)))
    assert gaps(huge.data[-1]) <= 2 * charts.MAX_GRID_LINES


def test_field_has_equal_aspect_and_the_field_range():
    fig = field_figure(points(), points(seed=2), field())
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert tuple(fig.layout.xaxis.range) == (-3, 3) and tuple(fig.layout.yaxis.range) == (-3, 3)
    assert fig.layout.height == charts.FIELD_HEIGHT


def test_field_without_field_uses_a_square_around_the_data():
    real = np.array([[0.0, 0.0], [10.0, 2.0]])
    fig = field_figure(real, np.array([[1.0, 1.0]]))
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert x0 < 0 and x1 > 10 and x1 - x0 == pytest.approx(y1 - y0)
    assert y0 < 0 and y1 > 2


def test_field_drops_non_finite_and_survives_empty():
    real = points(100)
    real[[3, 5]] = [math.nan, math.inf]
    f = field(k=5)
    f["arrows"][2, 1] = math.nan
    f["d"][0, 0] = math.nan
    manifold = np.zeros((4, 4, 2))
    manifold[1, 1] = math.nan
    fig = field_figure(real, points(100), f, manifold=manifold)
    assert len(fig.data[1].x) == 98 and np.isfinite(xy(fig.data[1])[0]).all()
    assert gaps(fig.data[3]) == 4                                  # the NaN arrow is dropped
    assert gaps(fig.data[4]) == 2 * 4 + 2                          # the NaN grid point is a gap
    fig.to_json()
    for empty in (field_figure(np.zeros((0, 2)), np.zeros((0, 2))),
                  field_figure([], [], {"xs": [], "ys": [], "d": [], "arrows": []}),
                  field_figure(points(10), points(10), {"xs": [0, 1], "ys": [0, 1, 2], "d": np.zeros((2, 2))})):
        assert all(t.type == "scatter" for t in empty.data)     # a misshapen heatmap is skipped
        empty.to_json()


# --- speed ------------------------------------------------------------------------------
def median_ms(build, repeats=15):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        build().to_json()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_every_tick_figure_stays_within_its_payload(capsys):
    """Build cost is printed (bench tick_cost measures it); the payload a tick sends is asserted."""
    c = curves()
    evals = [{"step": 500 * i, "modes_covered": 8, "modes_total": 8, "high_quality": 0.8, "js": 0.1}
             for i in range(100)]
    cases = {"loss": lambda: loss_figure(c), "prob": lambda: prob_figure(c),
             "grad": lambda: grad_figure(c), "quality": lambda: quality_figure(evals),
             "field": big_field_figure}
    timings = {name: median_ms(build) for name, build in cases.items()}
    sizes = {name: len(build().to_json()) for name, build in cases.items()}
    with capsys.disabled():
        print("\n" + "  ".join(f"{n}: {timings[n]:.1f} ms / {sizes[n] / 1000:.1f} KB" for n in cases))
    assert all(size < 60_000 for size in sizes.values()), sizes
