"""Do the lessons reproduce? Runs each preset through the CLI for seeds 0-2 and checks its outcome.

    .venv/bin/python -m bench lessons [PRESET ...] [--seeds 0 1 2] [--quick]

Each run is a separate `python -m playground train` process (so the wall time includes start-up,
as a lecturer would see it). Outcomes are recomputed here from the files the CLI wrote
(samples.npy, real.npy, metrics.csv), not taken from its summary. A preset without a check here
passes with its wall time only. (The checks are deliberately simple: the lessons' claims get
their own check later.) --quick: ring_stable on seed 0 (about a minute).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT
from playground.config import get_preset
from playground.data import make_dataset
from playground.metrics import digit_quality, point_quality

PRESETS = ["ring_stable", "ring_collapse", "d_too_strong", "r1_grid", "saturating_loss",
           "wgan_gp_grid", "digits_mlp", "digits_dcgan"]


def run_cli(preset: str, seed: int, out: Path, *sets: str) -> tuple[dict, float]:
    """Run the CLI; returns (summary.json, wall seconds of the whole process)."""
    command = [sys.executable, "-m", "playground", "train", "--preset", preset, "--set", f"seed={seed}",
               "--out", str(out), "--quiet"]
    for item in sets:
        command += ["--set", item]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "summary.json").read_text()), time.perf_counter() - started


def column(out: Path, name: str) -> np.ndarray:
    with open(out / "metrics.csv") as handle:
        return np.array([float(row[name]) for row in csv.DictReader(handle) if row[name] != ""])


def points_outcome(out: Path, preset: str) -> dict:
    dataset = make_dataset(get_preset(preset).config)
    return point_quality(np.load(out / "samples.npy"), dataset.modes, dataset.mode_std)


def check(preset: str, seed: int, work: Path) -> tuple[bool, str]:
    """(passed, one line of figures) for one preset and seed."""
    out = work / f"{preset}_{seed}"
    summary, wall = run_cli(preset, seed, out)
    if preset == "ring_stable":
        q = points_outcome(out, preset)
        ok = q["modes_covered"] == 8 and q["high_quality"] >= 0.8 and wall <= 60
        return ok, f"modes {q['modes_covered']}/8 hq {q['high_quality']:.2f} wall {wall:.1f}s"
    if preset == "ring_collapse":
        q = points_outcome(out, preset)
        return q["modes_covered"] <= 3, f"modes {q['modes_covered']}/8 wall {wall:.1f}s"
    if preset in ("wgan_gp_grid", "r1_grid"):
        q = points_outcome(out, preset)
        return q["modes_covered"] >= 20, f"modes {q['modes_covered']}/25 hq {q['high_quality']:.2f} wall {wall:.1f}s"
    if preset == "d_too_strong":
        d_fake = column(out, "d_fake")
        late = float(d_fake[len(d_fake) // 2:].mean())
        fired = "d_overpowering" in summary["findings"]
        return late < 0.1 and fired, f"mean D(G(z)) 2nd half {late:.4f} finding {fired} wall {wall:.1f}s"
    if preset == "saturating_loss":
        twin = work / f"{preset}_{seed}_twin"
        run_cli(preset, seed, twin, "loss=nonsaturating")
        sat, non = np.median(column(out, "grad_norm_g")), np.median(column(twin, "grad_norm_g"))
        fired = "vanishing_gradients" in summary["findings"]
        ratio = non / max(sat, 1e-30)
        return ratio >= 100 and fired, f"median |grad G| {sat:.2e} vs {non:.2e} (x{ratio:.0f}) finding {fired}"
    if preset in ("digits_mlp", "digits_dcgan"):
        limit = 60 if preset == "digits_mlp" else 180
        q = digit_quality(np.load(out / "samples.npy"))
        ok = q["classes_covered"] >= 9 and wall <= limit
        return ok, f"classes {q['classes_covered']}/10 wall {wall:.1f}s (limit {limit}s)"
    return True, f"no outcome defined; wall {wall:.1f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=PRESETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="ring_stable on seed 0 only")
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.seeds = ["ring_stable"], [0]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            for seed in args.seeds:
                ok, line = check(preset, seed, Path(tmp))
                failures += not ok
                print(f"{'PASS' if ok else 'FAIL'} {preset:16} seed {seed}: {line}", flush=True)
    print(f"{failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
