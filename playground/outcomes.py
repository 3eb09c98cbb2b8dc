"""Outcomes: what became of one run of a sweep, as one word (the colour of its cell on the map).

A sweep (sweep.py) trains many small GANs and the map (map_picture.py) colours each by what
happened to it. The rules read a run's final quality (metrics.evaluate after the last step) and
its findings (diagnose.diagnose on its recent history and evaluations); the first rule that
holds wins:
  diverged             the numbers went non-finite, or the `divergence` finding (a loss > 1e4)
  converged            points with modes: modes_covered >= CONVERGED_MODES x modes_total and
                       high_quality >= CONVERGED_QUALITY; digits: classes_covered >=
                       CONVERGED_CLASSES; other points: js <= CONVERGED_JS
  mode_collapse        the `mode_collapse` finding, or at the end 0 < modes_covered < half of
                       the modes with high_quality >= COLLAPSE_QUALITY (good samples, few kinds)
  d_overpowering       the `d_overpowering` finding (D(x) > 0.8 while D(G(z)) < 0.1)
  vanishing_gradients  the `vanishing_gradients` finding
  oscillating          the `oscillation` finding
  not_converged        none of these: no named failure, but the quality bar was not reached
"""
from __future__ import annotations

CONVERGED_MODES = 0.85       # 7 of 8 ring modes, 22 of 25 grid modes
CONVERGED_QUALITY = 0.3      # ... with this fraction of samples within 3 std of a mode
CONVERGED_CLASSES = 8        # digit classes produced confidently
CONVERGED_JS = 0.2           # nats (0..ln 2), data sets without modes
COLLAPSE_QUALITY = 0.3
OUTCOMES = {   # name -> map colour, in rule order
    "diverged": (40, 40, 40), "converged": (60, 170, 90), "mode_collapse": (225, 120, 40),
    "d_overpowering": (200, 60, 60), "vanishing_gradients": (150, 90, 200),
    "oscillating": (230, 200, 50), "not_converged": (175, 190, 205),
}
FINDING_OUTCOMES = (("d_overpowering", "d_overpowering"), ("vanishing_gradients", "vanishing_gradients"),
                    ("oscillation", "oscillating"))     # finding code -> outcome, in rule order


def outcome(result: dict) -> str:
    """The outcome of one run from its sweep.train_chunk result (diverged, quality, findings)."""
    quality, findings = result.get("quality") or {}, set(result.get("findings") or ())
    if result.get("diverged") or "divergence" in findings:
        return "diverged"
    if converged(quality):
        return "converged"
    covered, total = quality.get("modes_covered"), quality.get("modes_total")
    few_modes = bool(total) and covered is not None and 0 < covered < 0.5 * total
    if "mode_collapse" in findings or (few_modes and quality.get("high_quality", 0) >= COLLAPSE_QUALITY):
        return "mode_collapse"
    for code, name in FINDING_OUTCOMES:
        if code in findings:
            return name
    return "not_converged"


def converged(quality: dict) -> bool:
    """Whether the final quality reaches the bar of its kind of data (module docstring)."""
    if quality.get("modes_total"):
        return (quality["modes_covered"] >= CONVERGED_MODES * quality["modes_total"]
                and quality["high_quality"] >= CONVERGED_QUALITY)
    if "classes_covered" in quality:
        return quality["classes_covered"] >= CONVERGED_CLASSES
    js = quality.get("js")
    return js is not None and js <= CONVERGED_JS


def figure_text(row: dict) -> str:
    """The run's headline figure, short enough for a map cell: "7/8" modes, "9/10" digit
    classes, or "JS 0.12"; "" when nothing was measured (yet)."""
    total, covered = row.get("modes_total"), row.get("modes_covered")
    if total and covered is not None:
        return f"{int(covered)}/{int(total)}"
    if row.get("classes_covered") is not None:
        return f"{int(row['classes_covered'])}/10"
    if row.get("js") is not None:
        return f"JS {row['js']:.2f}"
    return ""
