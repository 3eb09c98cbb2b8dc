"""History: the curves of a run in bounded memory, plus a raw recent window for diagnosis.

A run of a million steps must not grow memory, and a chart never needs more than ~1000 points
per curve. So the long-term record keeps at most `capacity` rows: when full, every other row is
dropped and the recording stride doubles (old history gets coarser, the shape stays). The last
`window` rows are also kept untouched, because the instability detector needs fine detail.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Iterable

from .trainer import SCORE_NAMES, STAT_NAMES

COLUMNS = ("step", *STAT_NAMES, *SCORE_NAMES)


class History:
    """Decimating record of step statistics and evaluation rows."""

    def __init__(self, capacity: int = 1000, window: int = 200, eval_capacity: int = 500):
        self.capacity = capacity
        self.stride = 1
        self.rows: list[tuple[float, ...]] = []
        self.recent: deque[tuple[float, ...]] = deque(maxlen=window)
        self.evals: list[dict] = []
        self.eval_capacity = eval_capacity
        self._seen = 0

    def add(self, stats: dict) -> None:
        """Record one step (a StepStats.to_dict() or any mapping with COLUMNS)."""
        row = tuple(float(stats.get(name, math.nan)) for name in COLUMNS)
        self.recent.append(row)
        if self._seen % self.stride == 0:
            self.rows.append(row)
            if len(self.rows) > self.capacity:
                self.rows = self.rows[::2]
                self.stride *= 2
        self._seen += 1

    def add_eval(self, values: dict) -> None:
        """Record an evaluation row (step + quality metrics); thinned like the curves."""
        self.evals.append(dict(values))
        if len(self.evals) > self.eval_capacity:
            self.evals = self.evals[::2]

    def columns(self, rows: Iterable[tuple[float, ...]] | None = None) -> dict[str, list[float]]:
        """Column name -> values, for the long record (default) or given rows."""
        rows = list(self.rows if rows is None else rows)
        return {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}

    def recent_columns(self) -> dict[str, list[float]]:
        return self.columns(self.recent)

    def __len__(self) -> int:
        return self._seen
