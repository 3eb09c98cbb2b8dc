"""playground.history: bounded memory over long runs, a raw recent window, column views."""
import pytest

from playground.history import COLUMNS, History


def row(step):
    return {"step": step, "d_loss": 1.0 + step, "g_loss": 2.0, "d_real": 0.5, "d_fake": 0.4,
            "grad_norm_d": 1.0, "grad_norm_g": 0.5, "finite": True}   # extra keys are ignored


@pytest.mark.parametrize("capacity, window", [(1000, 200), (100, 50), (7, 3)])
def test_capacity_holds_over_100k_steps(capacity, window):
    history = History(capacity=capacity, window=window)
    n = 100_000
    for step in range(n):
        history.add(row(step))
        assert len(history.rows) <= capacity
    assert len(history) == n
    assert history.stride > 1 and history.stride & (history.stride - 1) == 0   # a power of two
    assert len(history.rows) >= capacity // 2                                   # still detailed
    steps = [r[0] for r in history.rows]
    assert steps == sorted(steps) and steps[0] == 0
    # Evenly spaced by the stride, and the newest recorded row is no older than one stride.
    assert all(b - a == history.stride for a, b in zip(steps, steps[1:]))
    assert steps[-1] > n - 1 - history.stride
    # The recent window is raw: the last `window` steps, every one of them.
    recent = history.recent_columns()["step"]
    assert recent == [float(s) for s in range(n - window, n)]


def test_short_run_keeps_every_row():
    history = History(capacity=50, window=10)
    for step in range(30):
        history.add(row(step))
    assert history.stride == 1 and [r[0] for r in history.rows] == list(range(30))


def test_columns_shapes():
    history = History(capacity=20, window=5)
    for step in range(53):
        history.add(row(step))
    columns = history.columns()
    assert tuple(columns) == COLUMNS
    assert {len(v) for v in columns.values()} == {len(history.rows)}
    assert columns["d_loss"] == [s + 1.0 for s in columns["step"]]
    recent = history.recent_columns()
    assert tuple(recent) == COLUMNS and {len(v) for v in recent.values()} == {5}
    assert recent["step"] == [48.0, 49.0, 50.0, 51.0, 52.0]
    assert all(isinstance(v, float) for values in recent.values() for v in values)


def test_empty_history_has_empty_columns():
    history = History()
    assert history.columns() == {name: [] for name in COLUMNS}
    assert history.recent_columns() == {name: [] for name in COLUMNS}
    assert len(history) == 0


def test_evals_are_thinned():
    history = History(eval_capacity=10)
    for step in range(1000):
        history.add_eval({"step": step, "js": 0.1})
        assert len(history.evals) <= 10
    assert history.evals[0]["step"] == 0 and history.evals[-1]["step"] > 900
