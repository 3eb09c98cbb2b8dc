"""metrics.csv and events.csv: a run's record on disk, written as it goes (one schema, one writer).

    log = RunLog(run, folder)          # an observer of the Run: it writes while the run trains
    log.flush()                        # everything so far is on disk (before a download)

metrics.csv has one row per logged step at a fixed stride, `log_every` (stated in its own
column, so every row says how it was sampled), for the whole run however long: rows go to disk,
not to memory. Columns: `step`, the step statistics (trainer.STAT_NAMES, then D's raw mean scores
SCORE_NAMES), the live knobs at that
step (lr_d, lr_g, d_steps, g_steps), `log_every`, then the quality metrics of the dataset, filled
on the rows where an evaluation happened (an evaluation off the stride, e.g. the last step of a
run, gets a row of its own). events.csv holds the live edits: step, key, value.
The CLI and the app's Downloads write these files with this class, so they read the same.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .trainer import SCORE_NAMES, STAT_NAMES

LOG_EVERY = 10
KNOB_COLUMNS = ("lr_d", "lr_g", "d_steps", "g_steps")
QUALITY_COLUMNS = {
    "points_modes": ("modes_covered", "modes_total", "high_quality", "js"),
    "points": ("js",),
    "digits": ("classes_covered", "confident", "top_class_share", "class_entropy", "fd"),
    "images": (),
}


def quality_columns(dataset) -> tuple[str, ...]:
    """The quality metrics evaluate() reports for `dataset` (metrics.evaluate's dispatch)."""
    if dataset.kind == "points":
        return QUALITY_COLUMNS["points_modes" if dataset.modes is not None else "points"]
    return QUALITY_COLUMNS["digits" if dataset.key in ("digits", "mnist") else "images"]


def metrics_header(dataset) -> list[str]:
    return ["step", *STAT_NAMES, *SCORE_NAMES, *KNOB_COLUMNS, "log_every", *quality_columns(dataset)]


class RunLog:
    """Observer of a Run that writes metrics.csv and events.csv into `folder` as the run goes."""

    def __init__(self, run, folder: Path, every: int = LOG_EVERY):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.every = every
        self.quality = quality_columns(run.trainer.dataset)
        self._metrics = open(self.folder / "metrics.csv", "w", newline="")
        self._events = open(self.folder / "events.csv", "w", newline="")
        self._rows = csv.writer(self._metrics)
        self._rows.writerow(metrics_header(run.trainer.dataset))
        csv.writer(self._events).writerow(["step", "key", "value"])
        self._pending: list | None = None      # the last logged row, until its evaluation is known
        self._pending_step = -1
        run.add_callback("on_step", self._on_step)
        run.add_callback("on_eval", self._on_eval)
        run.add_callback("on_apply", self._on_apply)
        run.add_callback("on_end", lambda run, _: self.flush())

    def _row(self, run, stats) -> list:
        config = run.config
        return [stats.step, *(getattr(stats, n) for n in STAT_NAMES + SCORE_NAMES),
                *(getattr(config, k) for k in KNOB_COLUMNS), self.every, *([""] * len(self.quality))]

    def _on_step(self, run, stats) -> None:
        self._write_pending()
        if stats.step % self.every == 0 or not stats.finite:
            self._pending, self._pending_step = self._row(run, stats), stats.step

    def _on_eval(self, run, quality: dict) -> None:
        if self._pending_step != run.step_count:
            self._write_pending()
            self._pending, self._pending_step = self._row(run, run.trainer.last_stats), run.step_count
        start = len(self._pending) - len(self.quality)
        for index, key in enumerate(self.quality):
            self._pending[start + index] = quality.get(key, "")

    def _on_apply(self, run, changed: dict) -> None:
        writer = csv.writer(self._events)
        for key, value in changed.items():
            writer.writerow([run.step_count, key, value])

    def _write_pending(self) -> None:
        if self._pending is not None:
            self._rows.writerow(self._pending)
            self._pending, self._pending_step = None, -1

    def flush(self) -> None:
        """Write the row held back for its evaluation and push both files to disk."""
        self._write_pending()
        self._metrics.flush()
        self._events.flush()

    def close(self) -> None:
        if not self._metrics.closed:
            self.flush()
            self._metrics.close()
            self._events.close()

    @property
    def files(self) -> list[Path]:
        return [self.folder / "metrics.csv", self.folder / "events.csv"]
