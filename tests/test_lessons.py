"""Lessons as checked claims (playground/lessons.py): every preset's claims, try_next entries and
question parse; a bad entry is refused naming the rule; one cheap lesson is checked end to end
on a tiny config, and its runs are the plain Run's numbers. The full check over seeds is the
benchmark `python -m bench lessons`, far too slow for a test."""
import copy
import dataclasses

import pytest

from playground.config import ConfigError, TrainConfig, get_preset, list_presets
from playground.lessons import LessonError, Trace, check_claims, parse_claim, parse_preset
from playground.run import Run
from playground.trainer import Trainer

TINY = dict(width=16, depth=2, batch_size=32, device="cpu")
D_FAKE = {"metric": "d_fake", "stat": "mean", "window": "second_half", "op": "<", "value": 0.1}


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.name)
def test_every_preset_parses(preset):
    claims, tries = parse_preset(preset)
    for tried in tries:
        assert tried.text in preset.lesson
    if preset.question:
        assert preset.question["answer"] < len(preset.question["choices"])


def test_the_lessons_carry_claims_and_questions():
    # Every lesson's text is backed by claims, but MNIST's: its checks would need the network.
    unchecked = {p.name for p in list_presets() if not p.claims}
    assert unchecked <= {"mnist_dcgan"}, f"lessons without claims: {sorted(unchecked)}"
    assert sum(bool(p.question) for p in list_presets()) >= 4


@pytest.mark.parametrize("change, message", [
    ({"metric": "d_fak"}, "unknown metric 'd_fak'"),
    ({"metric": None, "finding": "d_winning"}, "unknown finding 'd_winning'"),
    ({"op": "=<"}, "unknown op '=<'"),
    ({"stat": "average"}, "unknown stat 'average'"),
    ({"window": "middle"}, "unknown window 'middle'"),
    ({"value": "0.1"}, "value must be a finite number"),
    ({"colour": "red"}, "unknown key"),
    ({"window": None, "stat": None, "at": "end"}, "per-step curve"),
    ({"compare_to": {"loss": "nonsaturating"}}, "use 'ratio_op' here"),
    ({"compare_to": {"lr_d": -1}}, "lr_d=-1 is not allowed"),
])
def test_a_bad_claim_is_refused_with_its_rule(change, message):
    raw = {k: v for k, v in {**D_FAKE, **change}.items() if v is not None}
    with pytest.raises(LessonError, match=message) as err:
        parse_claim(raw, "preset x claim 0", get_preset("d_too_strong"))
    assert str(err.value).startswith("preset x claim 0: ")


def test_findings_and_evaluations_take_their_own_forms():
    parse_claim({"finding": "mode_collapse", "at": "end", "present": True}, "c")
    parse_claim({"finding": "oscillation", "window": "all", "stat": "share", "op": "<=",
                 "value": 0.2}, "c")
    parse_claim({"metric": "modes_covered", "at": "end", "op": ">=", "value": 8}, "c")
    with pytest.raises(LessonError, match="present"):
        parse_claim({"finding": "mode_collapse", "at": "end", "op": "<", "value": 1}, "c")
    with pytest.raises(LessonError, match="'before' exists only"):
        parse_claim({**D_FAKE, "compare_to": "before", "ratio_op": "<", "op": None}, "c")


def _with(preset_name: str, **fields):
    return dataclasses.replace(get_preset(preset_name), **fields)


def test_a_bad_try_next_or_question_is_refused():
    expect = [D_FAKE]
    good = {"text": "Try next", "at_step": 10, "apply": {"d_steps": 1}, "within": 10,
            "expect": expect}
    cases = [({**good, "text": "words the lesson never says"}, "word for word"),
             ({**good, "apply": {"arch": "dcgan"}}, "a reset"),
             ({**good, "within": 0}, "within must be an integer >= 1"),
             ({**good, "expect": []}, "non-empty list")]
    for raw, message in cases:
        with pytest.raises(LessonError, match=message):
            parse_preset(_with("d_too_strong", claims=(), try_next=(raw,), question={}))
    question = {"text": "?", "choices": ["a", "b"], "answer": 2, "why": "", "reveal_step": 0,
                "checked_by": [0]}
    with pytest.raises(LessonError, match="answer is the index"):
        parse_preset(_with("d_too_strong", claims=(D_FAKE,), try_next=(), question=question))
    with pytest.raises(LessonError, match="checked_by"):
        parse_preset(_with("d_too_strong", claims=(D_FAKE,), try_next=(),
                           question={**question, "answer": 1, "checked_by": [3]}))


def test_one_lesson_checked_end_to_end_on_a_tiny_config():
    claims = ({"finding": "divergence", "at": "end", "present": False},
              {"metric": "d_real", "stat": "mean", "window": "all", "op": ">", "value": 0.0},
              {"compare_to": {"lr_g": 1e-5}, "metric": "grad_norm_g", "stat": "median",
               "window": "all", "ratio_op": ">", "value": 0.0},
              {"metric": "modes_covered", "at": "end", "op": ">", "value": 100})   # fails
    tried = {"text": "Try next", "at_step": 20, "apply": {"d_steps": 3}, "within": 10,
             "expect": [{"compare_to": "before", "metric": "grad_norm_d", "stat": "median",
                         "window": "all", "ratio_op": ">", "value": 0.0}]}
    preset = _with("ring_stable", config=get_preset("ring_stable").config.replace(**TINY),
                   steps=30, claims=claims, try_next=(tried,), question={})
    results = check_claims(preset, seed=3)
    assert [r.source for r in results] == [f"claim {i}" for i in range(4)] + ["try_next 0"]
    assert [r.passed for r in results] == [True, True, True, False, True]
    assert results[3].value <= 8 and results[2].value > 0


def test_the_checked_run_is_the_plain_run_and_a_branch_is_a_live_edit():
    config = get_preset("ring_stable").config.replace(seed=1, **TINY)
    plain = Run(config)
    plain.train(30)
    trace = Trace(Run(config))
    trace.advance(20)
    branch = copy.deepcopy(trace)
    trace.advance(10)
    trace.finish()
    assert trace.run.trainer.last_stats == plain.trainer.last_stats
    assert trace.run.history.evals == plain.history.evals
    edited = Run(config)
    edited.train(20)
    edited.apply(lr_g=0.01)
    edited.train(10)
    branch.run.apply(lr_g=0.01)
    branch.advance(10)
    assert branch.run.trainer.last_stats == edited.trainer.last_stats


def test_loss_is_live_where_the_discriminator_stays_the_same():
    trainer = Trainer(TrainConfig(loss="minimax", **TINY))
    trainer.step()
    trainer.apply(loss="nonsaturating")
    assert trainer.config.loss == "nonsaturating" and trainer.step().finite
    dcgan = Trainer(TrainConfig(dataset="digits", arch="dcgan", width=8, batch_size=8,
                                device="cpu"))
    with pytest.raises(ConfigError, match="reset"):
        dcgan.check_live({"loss": "wgan_gp"})
    dcgan.apply(loss="hinge")
