"""Lessons as checked claims: what a preset's text promises, stated so a machine can check it.

A lesson's words ("D(G(z)) falls towards 0 and stays there") are only worth reading if the run
does that on every seed a class might use. So each preset JSON carries the claims that back its
text, and `check_claims(preset, seed)` runs the preset through the one training loop (`Run`)
and measures them. `python -m bench lessons` prints the table over seeds.

THE SCHEMA (preset JSON keys `claims`, `try_next`, `question`; unknown keys are refused)

A claim measures one number and compares it with `value` by `op` (<, <=, >, >=, ==):

  {"metric": "d_fake", "stat": "mean", "window": "second_half", "op": "<", "value": 0.1}
      a training curve (STEP_METRICS, one value per step): `stat` (mean, median, min, max, last)
      over the steps of `window`: all, first_half, second_half, last_quarter, or [from, to] in
      steps from the start of the span (e.g. [0, 500]).
  {"metric": "modes_covered", "at": "end", "op": ">=", "value": 8}
      an evaluation (EVAL_METRICS, every 500 steps for points, and at the end): the last one, or
      `stat` + `window` over the evaluations inside the window.
  {"finding": "d_overpowering", "at": "end", "present": true}
      a diagnose.py finding code, shown (or not) when the span ends; with "window" and
      "stat": "share", the share of the checkpoints (every CHECK_EVERY steps) showing it.
  {"compare_to": {"loss": "nonsaturating"}, "metric": "grad_norm_g", "stat": "median",
   "window": "all", "ratio_op": "<=", "value": 0.01}
      the ratio this run / a twin (the same preset and seed with these config changes, trained
      as long), compared by `ratio_op`. Any claim may carry a "note" for the JSON's reader.

A "Try next" of the lesson text becomes a try_next entry, the edit applied live at a step:

  {"text": "set lr_g to 0.02", "at_step": 4000, "apply": {"lr_g": 0.02}, "within": 1000,
   "expect": [claim, ...]}
      `text` is quoted from the lesson. The run trains `at_step` steps, `run.apply(**apply)`
      (live keys only), then `within` more; the expect claims are measured on those steps. In
      expect, "compare_to": "before" compares with as many steps just before the edit (at the
      end: with the evaluation at the edit).

A question (predict, then run) asks what the claims verify:

  {"text": "What will D(G(z)) do?", "choices": ["...", "..."], "answer": 1, "why": "...",
   "reveal_step": 1000, "checked_by": [0]}
      `answer` indexes `choices`, `checked_by` the `claims` that verify it; the UI reveals
      `why` at `reveal_step`.

A bad entry is a LessonError naming the preset, the entry and the rule. The module is core: no
UI, no threads; each measured run is a plain `Run`.
"""
from __future__ import annotations

import copy
import math
import operator
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .config import ConfigError, Preset, check_live, get_preset
from .run import Run
from .trainer import STAT_NAMES

STEP_METRICS = STAT_NAMES
EVAL_METRICS = ("modes_covered", "modes_total", "high_quality", "js",
                "classes_covered", "confident", "top_class_share", "class_entropy", "fd")
FINDINGS = ("divergence", "d_overpowering", "vanishing_gradients", "mode_collapse", "oscillation")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
STATS = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max, "last": lambda v: v[-1]}
WINDOWS = {"all": (0.0, 1.0), "first_half": (0.0, 0.5), "second_half": (0.5, 1.0),
           "last_quarter": (0.75, 1.0)}
CHECK_EVERY = 50              # steps between the diagnosis checkpoints of "share" claims
CLAIM_KEYS = {"metric", "finding", "stat", "window", "at", "op", "ratio_op", "value",
              "present", "compare_to", "note"}
TRY_KEYS = {"text", "at_step", "apply", "within", "expect"}
QUESTION_KEYS = {"text", "choices", "answer", "why", "reveal_step", "checked_by"}


class LessonError(ValueError):
    """A claim, try_next or question that does not follow the schema; the message says why."""


@dataclass(frozen=True)
class Claim:
    """One parsed claim (see the module docstring)."""

    metric: str | None
    finding: str | None
    stat: str | None
    window: str | tuple[int, int] | None
    at_end: bool
    op: str | None
    value: Any
    compare_to: Any = None        # None, "before", or a dict of config changes

    def label(self) -> str:
        """The claim in one line for a table: "d_fake mean second_half < 0.1"."""
        window = (f"steps {self.window[0]}-{self.window[1]}" if isinstance(self.window, tuple)
                  else self.window)
        what = f"{self.metric or self.finding} "
        what += "at end" if self.at_end else f"{self.stat} {window}"
        if self.finding and self.at_end:
            return f"{what} {'present' if self.value else 'absent'}"
        if self.compare_to is not None:
            what += " ratio vs " + ("before the edit" if self.compare_to == "before" else
                                    ", ".join(f"{k}={v}" for k, v in self.compare_to.items()))
        return f"{what} {self.op} {self.value:g}"


@dataclass(frozen=True)
class TryNext:
    """One parsed try_next: the live edit `apply` at step `at_step`, then `within` steps."""

    text: str
    at_step: int
    apply: dict
    within: int
    expect: tuple[Claim, ...]


@dataclass(frozen=True)
class ClaimResult:
    """One claim measured on one seed: `value` is the number compared (ratio, share, 0/1)."""

    preset: str
    seed: int
    source: str                   # "claim 0", "try_next 1"
    label: str
    value: float
    passed: bool


def _need(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise LessonError(f"{where}: {message}")


def _keys(raw: Any, where: str, what: str, allowed: set, required: set = frozenset()) -> None:
    _need(isinstance(raw, dict), where, f"a {what} is a JSON object, not {raw!r}")
    unknown, missing = set(raw) - allowed, required - set(raw)
    _need(not unknown, where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    _need(not missing, where, f"missing key(s) {sorted(missing)}")


def _one_of(value: Any, choices, where: str, what: str) -> None:
    _need(isinstance(value, str) and value in choices, where,
          f"unknown {what} {value!r}; one of {tuple(choices)}")


def parse_claim(raw: Any, where: str, preset: Preset | None = None,
                in_try_next: bool = False, span: int | None = None) -> Claim:
    """A Claim from its JSON object, or LessonError saying which rule it breaks; `span` is
    the number of steps it is measured over (a [from, to] window must fit inside)."""
    _keys(raw, where, "claim", CLAIM_KEYS)
    _need(("metric" in raw) != ("finding" in raw), where, "exactly one of 'metric' or 'finding'")
    metric, finding = raw.get("metric"), raw.get("finding")
    if "metric" in raw:
        _one_of(metric, STEP_METRICS + EVAL_METRICS, where, "metric")
    else:
        _one_of(finding, FINDINGS, where, "finding")
    at_end, window = "at" in raw, None
    if at_end:
        _one_of(raw["at"], ("end",), where, "'at'")
        _need(metric not in STEP_METRICS, where,
              f"{metric} is a per-step curve: give a 'window' and a 'stat'")
        _need(not {"window", "stat"} & set(raw), where, "\"at\": \"end\" takes no window or stat")
    else:
        _need("window" in raw, where, "give either \"at\": \"end\" or a 'window' and a 'stat'")
        window = _parse_window(raw["window"], where, span)
        _one_of(raw.get("stat"), ("share",) if finding else tuple(STATS), where, "stat")
    compare = _parse_compare(raw, where, preset, in_try_next)
    if finding and at_end:
        _need(isinstance(raw.get("present"), bool) and not {"op", "value", "ratio_op"} & set(raw),
              where, "a finding at the end takes only present: true or false")
        return Claim(None, finding, None, None, True, None, raw["present"])
    _need("present" not in raw, where, "'present' goes with a finding at the end")
    op_key, other = ("ratio_op", "op") if compare is not None else ("op", "ratio_op")
    _need(other not in raw, where, f"use '{op_key}' here ('ratio_op' only with compare_to)")
    _one_of(raw.get(op_key), OPS, where, op_key)
    value = raw.get("value")
    _need(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
          where, f"value must be a finite number, not {value!r}")
    return Claim(metric, finding, raw.get("stat"), window, at_end, raw[op_key], float(value), compare)


def _parse_window(window: Any, where: str, span: int | None) -> str | tuple[int, int]:
    if isinstance(window, str):
        _need(window in WINDOWS, where, f"unknown window {window!r}; one of {tuple(WINDOWS)} "
              "or [from, to] in steps")
        return window
    ok = (isinstance(window, list) and len(window) == 2
          and all(isinstance(x, int) and not isinstance(x, bool) for x in window)
          and 0 <= window[0] < window[1])
    _need(ok, where, f"unknown window {window!r}; one of {tuple(WINDOWS)} or [from, to] in steps")
    _need(span is None or window[1] <= span, where,
          f"window {window} reaches past the {span} steps it is measured over")
    return tuple(window)


def _parse_compare(raw: dict, where: str, preset: Preset | None, in_try_next: bool) -> Any:
    compare = raw.get("compare_to")
    if compare is None:
        return None
    _need(raw.get("metric") is not None, where, "compare_to goes with a metric, not a finding")
    if compare == "before":
        _need(in_try_next, where, "compare_to 'before' exists only in a try_next's expect")
        return "before"
    _need(not in_try_next, where, "in a try_next's expect, compare_to is 'before'")
    return _changes(compare, where, "compare_to", preset)


def _changes(changes: Any, where: str, what: str, preset: Preset | None, live: bool = False) -> dict:
    """`changes` as config edits of `preset` (live ones if `live`), or LessonError."""
    _need(isinstance(changes, dict) and changes, where, f"{what} is an object of config changes")
    try:
        if live:
            check_live(changes)
        if preset is not None:
            preset.config.replace(**changes)
    except ConfigError as err:
        raise LessonError(f"{where}: {what}: {err}") from None
    return dict(changes)


def parse_try_next(raw: Any, where: str, preset: Preset) -> TryNext:
    _keys(raw, where, "try_next", TRY_KEYS, TRY_KEYS)
    text = raw["text"]
    _need(isinstance(text, str) and text in preset.lesson, where,
          f"text {text!r} must be quoted word for word from the lesson")
    for key in ("at_step", "within"):
        _need(isinstance(raw[key], int) and not isinstance(raw[key], bool) and raw[key] >= 1,
              where, f"{key} must be an integer >= 1")
    edit = _changes(raw["apply"], where, "apply", preset, live=True)
    expect = raw["expect"]
    _need(isinstance(expect, list) and expect, where, "expect is a non-empty list of claims")
    claims = tuple(parse_claim(c, f"{where} expect {i}", preset, True, raw["within"])
                   for i, c in enumerate(expect))
    return TryNext(text, raw["at_step"], edit, raw["within"], claims)


def parse_question(raw: Any, where: str, preset: Preset, claims: int) -> dict:
    _keys(raw, where, "question", QUESTION_KEYS, QUESTION_KEYS)
    choices = raw["choices"]
    _need(isinstance(choices, list) and len(choices) >= 2 and
          all(isinstance(c, str) and c for c in choices), where, "choices: two or more texts")
    _need(raw["answer"] in range(len(choices)), where, "answer is the index of one of the choices")
    _need(isinstance(raw["reveal_step"], int) and 0 <= raw["reveal_step"] <= preset.steps,
          where, f"reveal_step is a step from 0 to the lesson's {preset.steps}")
    checked = raw["checked_by"]
    _need(isinstance(checked, list) and checked and all(c in range(claims) for c in checked),
          where, f"checked_by lists indices of this lesson's claims (0..{claims - 1})")
    return dict(raw)


def parse_preset(preset: Preset) -> tuple[tuple[Claim, ...], tuple[TryNext, ...]]:
    """The preset's claims and try_next entries, parsed (its question validated too)."""
    where = f"preset {preset.name}"
    claims = tuple(parse_claim(c, f"{where} claim {i}", preset, span=preset.steps)
                   for i, c in enumerate(preset.claims))
    tries = tuple(parse_try_next(t, f"{where} try_next {i}", preset)
                  for i, t in enumerate(preset.try_next))
    if preset.question:
        parse_question(preset.question, f"{where} question", preset, len(claims))
    return claims, tries


# --- measuring -----------------------------------------------------------------------------
class Trace:
    """What one run showed: every step's statistics, its evaluations, and the finding codes
    (`Run.findings`) at every CHECK_EVERY-th step and where a span ends (`finish`)."""

    def __init__(self, run: Run):
        self.run = run
        self.rows: list[list[float]] = []          # row i is step i + 1, columns STAT_NAMES
        self.checks: list[tuple[int, frozenset]] = []
        self.ends: dict[int, frozenset] = {}
        run.add_callback("on_step", self._on_step)

    def _codes(self) -> frozenset:
        return frozenset(f.code for f in self.run.findings())

    def _on_step(self, run: Run, stats) -> None:
        self.rows.append([getattr(stats, name) for name in STAT_NAMES])
        if run.step_count % CHECK_EVERY == 0:
            self.checks.append((run.step_count, self._codes()))

    def advance(self, steps: int) -> None:
        """`steps` more steps (fewer if the run diverges), with no extra evaluation."""
        for _ in range(steps):
            if self.run.diverged:
                break
            self.run.step()

    def finish(self) -> None:
        """End a span as `Run.train` ends a run: a final evaluation, then the finding codes."""
        self.run.train(0)
        self.ends[self.run.step_count] = self._codes()

    def measure(self, claim: Claim, start: float, stop: float) -> float:
        """The number `claim` looks at over the steps (start, stop] of this run (at the end:
        at step `stop`); NaN when missing."""
        if claim.at_end:
            if claim.finding:
                return float(claim.finding in self.ends.get(stop, ()))
            evals = [e for e in self.run.history.evals if e["step"] <= stop]
            return _float(evals[-1].get(claim.metric)) if evals else math.nan
        if claim.finding:
            inside = [claim.finding in codes for step, codes in self.checks if start < step <= stop]
            return float(np.mean(inside)) if inside else math.nan
        if claim.metric in STEP_METRICS:
            column = STAT_NAMES.index(claim.metric)
            values = [row[column] for row in self.rows[int(start):int(stop)]]
        else:
            values = [_float(e.get(claim.metric)) for e in self.run.history.evals
                      if start < e["step"] <= stop]
        values = np.asarray(values, dtype=np.float64)
        return float(STATS[claim.stat](values)) if len(values) else math.nan


def _float(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def passes(claim: Claim, value: float) -> bool:
    """Whether `value` bears `claim` out (NaN, a missing number, never does)."""
    op = OPS["=="] if claim.finding and claim.at_end else OPS[claim.op]
    return bool(op(value, float(claim.value)))


class _Runs:
    """The runs one seed of a preset needs. The lesson's own run is trained once; each try_next
    branches off a copy of it at its step (`copy.deepcopy`: same weights, optimizer state and
    random streams, so the branch is exactly the run a student edits at that step). The lesson
    itself is stepped exactly as `Run.train(preset.steps)` steps it; a compare_to twin is a
    separate run of the changed config."""

    def __init__(self, preset: Preset, seed: int, tries: tuple[TryNext, ...]):
        self.preset = preset
        self.config = preset.config.replace(seed=seed)
        self.twins: dict[tuple, Trace] = {}
        self.base = Trace(Run(self.config))
        self.branches: dict[int, Trace] = {}
        for stop in sorted({t.at_step for t in tries} | {preset.steps}):
            self.base.advance(stop - self.base.run.step_count)
            if stop == preset.steps:
                self.base.finish()
            if any(t.at_step == stop for t in tries):
                self.branches[stop] = copy.deepcopy(self.base)

    def twin(self, changes: Mapping) -> Trace:
        key = tuple(sorted(changes.items()))
        if key not in self.twins:
            self.twins[key] = Trace(Run(self.config.replace(**changes)))
            self.twins[key].advance(self.preset.steps)
            self.twins[key].finish()
        return self.twins[key]

    def after_edit(self, tried: TryNext) -> Trace:
        """A branch of the lesson's run with the edit applied live at its step."""
        trace = copy.deepcopy(self.branches[tried.at_step])
        trace.finish()                    # an evaluation at the edit, for "compare_to": "before"
        trace.run.apply(**tried.apply)
        trace.advance(tried.within)
        trace.finish()
        return trace


def _measure(runs: _Runs, trace: Trace, claim: Claim, lo: int, hi: int) -> float:
    """The claim's number over the span (lo, hi] of `trace` (a ratio with compare_to)."""
    start, stop = lo, hi                   # "at": "end": the step hi
    if isinstance(claim.window, tuple):
        start, stop = lo + claim.window[0], lo + claim.window[1]
    elif claim.window is not None:
        a, b = WINDOWS[claim.window]
        start, stop = lo + a * (hi - lo), lo + b * (hi - lo)
    value = trace.measure(claim, start, stop)
    if claim.compare_to is None:
        return value
    if claim.compare_to == "before":       # as many steps, ending at the edit (step lo)
        other = trace.measure(claim, lo - (stop - start), lo)
    else:
        other = runs.twin(claim.compare_to).measure(claim, start, stop)
    if other == 0 or math.isnan(other) or math.isnan(value):
        return math.nan
    return value / other


def check_claims(preset: Preset | str, seed: int) -> list[ClaimResult]:
    """Every claim and try_next of `preset` measured on `seed`, in the JSON's order."""
    preset = get_preset(preset) if isinstance(preset, str) else preset
    claims, tries = parse_preset(preset)
    if not claims and not tries:
        return []
    runs = _Runs(preset, seed, tries)
    spans = [(f"claim {i}", runs.base, c, 0, preset.steps) for i, c in enumerate(claims)]
    for i, tried in enumerate(tries):
        trace, lo = runs.after_edit(tried), tried.at_step
        spans += [(f"try_next {i}", trace, c, lo, lo + tried.within) for c in tried.expect]
    results = []
    for source, trace, claim, lo, hi in spans:
        value = _measure(runs, trace, claim, lo, hi)
        results.append(ClaimResult(preset.name, seed, source, claim.label(), value,
                                   passes(claim, value)))
    return results
