"""Predict, then run: a lesson's multiple-choice question, shown before Start, answered later.

A preset may carry `question` = {"text", "choices", "answer" (index), "why", "reveal_step"}.
The Lesson tab shows the question with its choices as soon as the lesson is chosen; once the
run reaches `reveal_step` the page shows the answer and why (and whether the student's pick was
right). The answer is what the lesson's claims check (playground/lessons.py), so it is what the
screen really shows.
"""
from __future__ import annotations

import functools

import gradio as gr

from ..config import ConfigError, get_preset

HIDDEN = gr.update(visible=False)


@functools.lru_cache(maxsize=64)
def question_of(lesson: str) -> dict:
    """The lesson's question ({} when it has none or the name is unknown); read once."""
    try:
        return dict(get_preset(lesson).question)
    except ConfigError:
        return {}


def ask(lesson: str) -> dict:
    """The question's radio and a blank answer, for the moment a lesson is chosen."""
    question = question_of(lesson)
    if not question:
        return {"question": gr.update(visible=False, value=None), "answer": ""}
    return {"question": gr.update(visible=True, value=None, choices=list(question["choices"]),
                                  label=f"Predict first: {question['text']}"),
            "answer": f"Make your prediction, press **Start**: the answer comes at step "
                      f"{question['reveal_step']}."}


def answer(lesson: str, step: int, picked: str | None) -> str | None:
    """The answer text once the run has reached the reveal step (None before, or no question)."""
    question = question_of(lesson)
    if not question or step < int(question["reveal_step"]):
        return None
    right = question["choices"][int(question["answer"])]
    verdict = "" if not picked else ("✅ You got it. " if picked == right else f"❌ You picked “{picked}”. ")
    return f"{verdict}**Answer: {right}.** {question['why']}"
