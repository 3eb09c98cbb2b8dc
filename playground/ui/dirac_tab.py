"""The Dirac-GAN tab: the two-parameter game of Mescheder et al. 2018, played step by step.

Everything is numpy (playground/dirac.py), so each click recomputes the whole trajectory, the
field and the eigenvalues at once; nothing streams and nothing needs a Session.

Handlers take one dict {component: value} (the event's inputs are a set) and return a dict
{component: value}, so a refused input updates the message alone and leaves the figures as
they were. Typed numbers are text boxes, as on the Train tab (ui/controls.py): this module's
rules name the field by its label, accept a decimal comma ("0,1") and refuse text, NaN,
infinities and values out of range in words instead of Gradio's generic error.

gr.Plot has a change event only (no click or select), so the start is typed, not clicked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from .. import dirac
from ..charts.dirac import dirac_figure, distance_figure, eigen_figure

FIELD_ARROWS = 17          # per side of the field's grid: 289 arrows, one light trace
CLOSE_ENOUGH = 1e-3        # "converged" in the summary: the tests' tolerance


@dataclass(frozen=True)
class Typed:
    """A typed number of this tab: its label and its allowed range."""

    label: str
    low: float
    high: float
    whole: bool = False
    low_open: bool = False     # low itself is refused (learning rates must be > 0)

    def rule(self) -> str:
        if self.whole:
            return f"a whole number from {self.low:g} to {self.high:g}"
        return f"{'>' if self.low_open else '≥'} {self.low:g} and ≤ {self.high:g}"

    def read(self, value: Any) -> float | int:
        """The number in `value`, or ValueError with a sentence naming this field."""
        text = "" if value is None else str(value).strip()
        if not text:
            raise ValueError(f"{self.label} is empty: type a number ({self.rule()}).")
        cleaned = text.replace("−", "-")                    # a typographic minus is a minus
        if cleaned.count(",") == 1 and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")             # a decimal comma, as config.py reads it
        try:
            number = float(cleaned)
        except ValueError:
            number = None
        if number is None or not math.isfinite(number):
            raise ValueError(f"{self.label} must be a number {self.rule()}; you typed “{text}”.")
        if self.whole and not number.is_integer():
            raise ValueError(f"{self.label} must be {self.rule()}; you typed “{text}”.")
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            raise ValueError(f"{self.label} must be {self.rule()}; you typed “{text}”.")
        return int(number) if self.whole else number


TYPED: dict[str, Typed] = {
    "gamma": Typed("γ (R1/R2 weight)", 0.0, 10.0),
    "sigma": Typed("σ (instance noise)", 0.0, 3.0),
    "lr_d": Typed("Learning rate of D", 0.0, 1.0, low_open=True),
    "lr_g": Typed("Learning rate of G", 0.0, 1.0, low_open=True),
    "d_steps": Typed("D steps per round", 1, 5, whole=True),
    "g_steps": Typed("G steps per round", 1, 5, whole=True),
    "steps": Typed("Steps", 1, 5000, whole=True),          # 5000 × 10 inner steps: ~0.6 s
    "theta": Typed("Start θ", -5.0, 5.0),
    "psi": Typed("Start ψ", -5.0, 5.0),
}
CHOICES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "objective": ("Objective", [(o.label, key) for key, o in dirac.OBJECTIVES.items()]),
    "regulariser": ("Regulariser", [(r.label, key) for key, r in dirac.REGULARISERS.items()]),
    "mode": ("Updates", [("simultaneous (both at once)", "simultaneous"),
                         ("alternating (D, then G)", "alternating")]),
}
LESSON_CHOICES = [(lesson.label, key) for key, lesson in dirac.LESSONS.items()]
FIRST_LESSON = LESSON_CHOICES[0][1]


def lesson_values(key: str) -> dict[str, Any]:
    """A lesson's settings as the tab's fields show them (start split into θ and ψ)."""
    settings = dirac.LESSONS[key].resolved()
    theta, psi = settings.pop("start")
    values = {**settings, "theta": theta, "psi": psi}
    return {name: value if name in CHOICES else f"{value:g}" for name, value in values.items()}


def read_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Field name -> raw value, to the keyword arguments of dirac.trajectory; ValueError says why.

    γ is read only when the regulariser uses it and σ likewise, so a stray word in a box that
    does nothing cannot block a run.
    """
    settings = {}
    for name, (label, pairs) in CHOICES.items():
        if values.get(name) not in [key for _, key in pairs]:
            raise ValueError(f"{label}: choose one of the listed options.")
        settings[name] = values[name]
    regulariser = dirac.REGULARISERS[settings["regulariser"]]
    unused = {"gamma": not regulariser.uses_gamma, "sigma": not regulariser.uses_sigma}
    for name, rule in TYPED.items():
        settings[name] = 0.0 if unused.get(name) else rule.read(values.get(name))
    settings["start"] = (settings.pop("theta"), settings.pop("psi"))
    return settings


def summary(settings: dict[str, Any], path) -> str:
    """One line on what the run did, in numbers."""
    dist = dirac.distance(path)
    first, finite = float(dist[0]), dist[np.isfinite(dist)]   # NaN rows come after an escape
    text = (f"{len(finite) - 1} of {settings['steps']} steps, {settings['mode']}: distance to "
            f"(0, 0) {first:.3g} → {float(finite[-1]):.3g}")
    if len(finite) < len(dist):
        return text + f", then |θ| or |ψ| passed {dirac.ESCAPE:g}: it escaped."
    close = np.flatnonzero(finite < CLOSE_ENOUGH)
    if close.size:
        return text + f"; within {CLOSE_ENOUGH:g} of the equilibrium from step {int(close[0])}."
    return text + f" (smallest {float(finite.min()):.3g}, largest {float(finite.max()):.3g})."


def figures(settings: dict[str, Any]) -> tuple:
    """(field figure, distance figure, eigen figure, eigen sentences, summary) for settings."""
    path = dirac.trajectory(**settings)
    game = {k: settings[k] for k in ("objective", "regulariser", "gamma", "sigma")}
    finite = path[np.isfinite(path).all(axis=1)]
    reach = max(float(np.abs(finite).max()) * 1.15, 0.25)
    # The view holds the path but not an escape to 1e6: past 3× the start the picture is lost.
    extent = min(reach, max(5.0, 3 * max(abs(v) for v in settings["start"])))
    field = dirac.vector_field(extent, FIELD_ARROWS, **game)
    eigen = dirac.eigen(**game, **{k: settings[k] for k in
                                   ("mode", "lr_d", "lr_g", "d_steps", "g_steps")})
    sentences = f"{eigen['continuous_text']}\n\n{eigen['discrete_text']}"
    return (dirac_figure(field, path), distance_figure(path), eigen_figure(eigen), sentences,
            summary(settings, path))


@dataclass
class DiracView:
    """The tab's components by role; `fields` is keyed by setting name (TYPED and CHOICES)."""

    lesson: gr.Dropdown
    lesson_text: gr.Markdown
    fields: dict[str, gr.components.Component]
    run: gr.Button
    message: gr.Markdown
    field_plot: gr.Plot
    distance_plot: gr.Plot
    eigen_plot: gr.Plot
    eigen_text: gr.Markdown

    @classmethod
    def create(cls) -> "DiracView":
        """The components, laid out in the open gr.Tab (or gr.Blocks), showing the first lesson."""
        values = lesson_values(FIRST_LESSON)
        field, distance, eigen, sentences, line = figures(read_settings(values))
        gr.Markdown(
            "The smallest GAN there is: the real data is the single point 0, the generator puts "
            "its one point at **θ**, and the discriminator is the line D(x) = **ψ**·x. The "
            "equilibrium is θ = ψ = 0. Does gradient descent get there?")
        lesson = gr.Dropdown(LESSON_CHOICES, value=FIRST_LESSON, label="Lesson",
                             elem_id="dirac_lesson")
        lesson_text = gr.Markdown(dirac.LESSONS[FIRST_LESSON].text, elem_id="dirac_lesson_text")

        def box(name: str) -> gr.Textbox:
            rule = TYPED[name]
            return gr.Textbox(values[name], label=rule.label, info=rule.rule(), max_lines=1,
                              elem_id=f"dirac_{name}")

        def pick(name: str) -> gr.Dropdown:
            label, pairs = CHOICES[name]
            return gr.Dropdown(pairs, value=values[name], label=label, elem_id=f"dirac_{name}")

        fields: dict[str, Any] = {}
        with gr.Row():
            fields.update(objective=pick("objective"), regulariser=pick("regulariser"),
                          gamma=box("gamma"), sigma=box("sigma"))
        with gr.Row():
            fields.update(mode=pick("mode"), lr_d=box("lr_d"), lr_g=box("lr_g"),
                          d_steps=box("d_steps"), g_steps=box("g_steps"))
        with gr.Row():
            fields.update(steps=box("steps"), theta=box("theta"), psi=box("psi"))
            run = gr.Button("Run", variant="primary", elem_id="dirac_run")
        message = gr.Markdown(line, elem_id="dirac_message")
        with gr.Row():
            field_plot = gr.Plot(field, label="The game's field and the path of (θ, ψ)",
                                 elem_id="dirac_plot")
            distance_plot = gr.Plot(distance, label="Distance to the equilibrium",
                                    elem_id="dirac_distance")
        with gr.Row():
            eigen_plot = gr.Plot(eigen, label="Eigenvalues at the equilibrium",
                                 elem_id="dirac_eigen")
            eigen_text = gr.Markdown(sentences, elem_id="dirac_eigen_text")
        return cls(lesson, lesson_text, fields, run, message, field_plot, distance_plot,
                   eigen_plot, eigen_text)

    def results(self) -> list:
        return [self.message, self.field_plot, self.distance_plot, self.eigen_plot, self.eigen_text]


class DiracHandlers:
    """The Dirac-GAN tab's event handlers, bound to its components."""

    def __init__(self, view: DiracView):
        self.view = view

    def run(self, values: dict) -> dict:
        """{component: raw value} of the fields -> {component: new value}: figures, or a message."""
        view = self.view
        raw = {name: values.get(component) for name, component in view.fields.items()}
        try:
            settings = read_settings(raw)
        except ValueError as err:
            return {view.message: f"⚠️ {err}"}
        field, distance, eigen, sentences, line = figures(settings)
        return {view.message: line, view.field_plot: field, view.distance_plot: distance,
                view.eigen_plot: eigen, view.eigen_text: sentences}

    def choose_lesson(self, values: dict) -> dict:
        """{lesson dropdown: key} -> every field set to the lesson, its text, and its run."""
        view = self.view
        key = values.get(view.lesson)
        if key not in dirac.LESSONS:
            return {view.message: "⚠️ Lesson: choose one of the listed lessons."}
        shown_values = lesson_values(key)
        updates = {view.fields[name]: value for name, value in shown_values.items()}
        updates[view.lesson_text] = dirac.LESSONS[key].text
        return {**updates, **self.run(updates)}


def build_dirac_tab() -> None:
    """The Dirac-GAN tab's components and events (inside an open gr.Tab)."""
    view = DiracView.create()
    handlers = DiracHandlers(view)
    inputs = set(view.fields.values())
    view.lesson.input(handlers.choose_lesson, inputs={view.lesson},
                      outputs=[*view.fields.values(), view.lesson_text, *view.results()],
                      api_name="dirac_lesson", show_progress="hidden")
    # Enter in a box, a new choice or the button: each run is a few ms of numpy.
    triggers = [view.run.click]
    triggers += [c.submit if isinstance(c, gr.Textbox) else c.input for c in view.fields.values()]
    gr.on(triggers, handlers.run, inputs=inputs, outputs=view.results(), api_name="dirac_run",
          trigger_mode="always_last", show_progress="hidden")
