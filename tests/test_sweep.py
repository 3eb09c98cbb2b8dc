"""playground.sweep: axis specs, the outcome rules, and a 3x3 map run in-process and as Ray
tasks on a real local Ray (started and stopped by the command) giving the same sweep.csv."""
import argparse
import json

import pytest

from playground.sweep import (DEFAULT_X, DEFAULT_Y, SEED_STRIDE, SweepError, add_sweep_parser,
                              chunk_runs, outcome, parse_axis, plan_runs, sweep_command)
from playground.config import get_preset


def parse_cli(*argv):
    parser = argparse.ArgumentParser()
    add_sweep_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sweep", *argv])


# --- specs ---------------------------------------------------------------------------------
def test_log_range_holds_ring_stables_rates_exactly():
    assert parse_axis("--x", DEFAULT_X).values == (2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3)
    stable = get_preset("ring_stable").config
    assert stable.lr_d in parse_axis("--x", DEFAULT_X).values
    assert stable.lr_g in parse_axis("--y", DEFAULT_Y).values


def test_linear_range_list_and_integers():
    assert parse_axis("--y", "lr_g=1e-4:1e-2:3").values == (1e-4, 5.05e-3, 1e-2)
    assert parse_axis("--y", "lr_g=1e-4:1e-2:3:lin").values == (1e-4, 5.05e-3, 1e-2)
    assert parse_axis("--x", "d_steps=1,2,5").values == (1, 2, 5)
    assert parse_axis("--x", "d_steps=1:5:5").values == (1, 2, 3, 4, 5)
    assert parse_axis("--x", "seed=3,4").values == (3, 4)
    assert parse_axis("--x", "lr_d=0.001").values == (0.001,)


@pytest.mark.parametrize("flag, spec, words", [
    ("--x", "lr_d", "key="),
    ("--y", "width=8,16", "cannot be swept"),
    ("--x", "lr_d=1e-4:1e-2", "lo:hi:count"),
    ("--y", "lr_g=1e-4:1e-2:6:cubic", "lo:hi:count"),
    ("--x", "lr_d=a:1e-2:6", "numbers"),
    ("--x", "lr_d=0:1e-2:6:log", "lo > 0"),
    ("--y", "lr_g=0:1e-2:3", "lr_g=0.0 is not allowed"),
    ("--x", "d_steps=1,1", "repeat"),
    ("--x", "d_steps=1.5", "integer"),
    ("--y", "lr_g=1e-4:1e-2:99", "count"),
])
def test_bad_specs_name_the_flag(flag, spec, words):
    with pytest.raises(SweepError) as caught:
        parse_axis(flag, spec)
    assert str(caught.value).startswith(f"{flag} {spec!r}:") and words in str(caught.value)


def test_bad_flags_exit_2_with_one_line(capsys, tmp_path):
    assert sweep_command(parse_cli("--preset", "ring_map", "--x", "lr_d=oops", "--out", str(tmp_path))) == 2
    assert "--x 'lr_d=oops'" in capsys.readouterr().err
    args = parse_cli("--preset", "ring_map", "--x", "lr_d=1e-3", "--y", "lr_d=2e-3", "--out", str(tmp_path))
    assert sweep_command(args) == 2
    assert "two different knobs" in capsys.readouterr().err
    assert sweep_command(parse_cli("--preset", "nope", "--out", str(tmp_path), "--quiet")) == 2


def test_plan_seeds_and_chunks():
    base = get_preset("ring_map").config
    runs = plan_runs(base, parse_axis("--x", "d_steps=1,2"), parse_axis("--y", "lr_g=1e-3,2e-3"), seeds=2)
    assert [(r.row, r.col, r.replicate) for r in runs[:3]] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]
    assert runs[1].config.seed == base.seed + SEED_STRIDE
    chunks = chunk_runs(runs, chunk=3)        # d_steps is a shape key: two ensembles
    assert sorted(i for c in chunks for i in c) == list(range(8))
    assert all(len({runs[i].config.d_steps for i in c}) == 1 and len(c) <= 3 for c in chunks)


# --- outcome rules on synthetic results ----------------------------------------------------
RING = {"modes_total": 8, "js": 0.3}


@pytest.mark.parametrize("result, expected", [
    ({"diverged": True, "quality": {**RING, "modes_covered": 8, "high_quality": 0.9}}, "diverged"),
    ({"findings": ["divergence"], "quality": {**RING, "modes_covered": 0, "high_quality": 0}}, "diverged"),
    ({"findings": ["oscillation"], "quality": {**RING, "modes_covered": 8, "high_quality": 0.6}}, "converged"),
    ({"quality": {**RING, "modes_covered": 7, "high_quality": 0.3}}, "converged"),
    ({"quality": {**RING, "modes_covered": 8, "high_quality": 0.2}}, "not_converged"),
    ({"findings": ["mode_collapse"], "quality": {**RING, "modes_covered": 2, "high_quality": 0.1}}, "mode_collapse"),
    ({"quality": {**RING, "modes_covered": 1, "high_quality": 0.95}}, "mode_collapse"),
    ({"findings": ["d_overpowering", "vanishing_gradients"], "quality": {**RING, "modes_covered": 5,
                                                                         "high_quality": 0.1}}, "d_overpowering"),
    ({"findings": ["vanishing_gradients", "oscillation"], "quality": {**RING, "modes_covered": 0,
                                                                      "high_quality": 0}}, "vanishing_gradients"),
    ({"findings": ["oscillation"], "quality": {**RING, "modes_covered": 4, "high_quality": 0.2}}, "oscillating"),
    ({"quality": {"classes_covered": 9, "class_entropy": 2.1, "fd": 3.0}}, "converged"),
    ({"quality": {"classes_covered": 2, "class_entropy": 0.5, "fd": 30.0}}, "not_converged"),
    ({"quality": {"js": 0.1}}, "converged"),
    ({"quality": {"js": 0.5}}, "not_converged"),
])
def test_outcome_rules(result, expected):
    assert outcome(result) == expected


# --- in-process vs Ray ----------------------------------------------------------------------
def test_ray_map_equals_the_in_process_map(tmp_path, capsys):
    pytest.importorskip("ray")
    common = ["--preset", "ring_map", "--x", "lr_d=5e-4,1e-3,2e-3", "--y", "lr_g=1e-3,2e-3,4e-3",
              "--steps", "30", "--chunk", "5", "--quiet"]
    assert sweep_command(parse_cli(*common, "--out", str(tmp_path / "here"))) == 0
    assert sweep_command(parse_cli(*common, "--ray", "--out", str(tmp_path / "ray"))) == 0
    here = (tmp_path / "here" / "sweep.csv").read_text()
    assert here == (tmp_path / "ray" / "sweep.csv").read_text()
    assert len(here.splitlines()) == 1 + 9
    assert (tmp_path / "ray" / "map.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((tmp_path / "ray" / "config.json").read_text())
    assert config["runner"] == "ray local" and config["base"]["width"] == 32
    import ray
    assert not ray.is_initialized()       # the command stopped the Ray it started
