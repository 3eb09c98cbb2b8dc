"""Visitor state: what belongs to one browser tab rather than to its run.

A visitor may have staged training images (ui/uploads.py) and a checkpoint loaded in the Latent
tab. Those live here, keyed by the Gradio session, not on the core Session: the run does not
need to know where its data came from. `Visitors.forget(key)` is the one cleanup path; the app
registers it with SessionRegistry.on_close, so a tab that closes and a tab that the registry's
sweeper gives up on both leave nothing on disk.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from . import exports, uploads


@dataclass
class Visitor:
    """One tab's own things."""

    staged_data: str = ""          # an opaque staging path (never shown): the `folder` data_path
    staged_name: str = ""          # what the visitor uploaded, as they named it (for messages)
    staged_points: str = ""        # an opaque staging path: the `csv` data_path (upload or drawing)
    latent_model: tuple[str, Any] | None = None   # (upload path, Model) of the Latent tab
    lesson: str = ""               # the lesson the page shows (a refused choice goes back to it)
    export_dir: str = ""           # this tab's one download folder: each export replaces its files
    following: str = ""            # a follow code: this page shows that shared run, read-only
    # What this follower's page was last sent (ui/follow.py): kept here, not in a gr.State,
    # because each output of the follower's tick costs the server time.
    follow_sent: dict = field(default_factory=dict)


class Visitors:
    """Visitor records by session key; thread-safe."""

    def __init__(self, lesson: str = ""):
        self.lesson = lesson           # what a new tab shows first
        self._visitors: dict[str, Visitor] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Visitor:
        with self._lock:
            visitor = self._visitors.get(key)
            if visitor is None:
                visitor = self._visitors[key] = Visitor(lesson=self.lesson)
            return visitor

    def stage_data(self, key: str, staged: str, name: str) -> None:
        """Keep a new upload, deleting the one it replaces."""
        visitor = self.get(key)
        old, visitor.staged_data, visitor.staged_name = visitor.staged_data, staged, name
        uploads.discard(old)

    def stage_points(self, key: str, staged: str) -> None:
        """Keep a new points file, deleting the one it replaces."""
        visitor = self.get(key)
        old, visitor.staged_points = visitor.staged_points, staged
        uploads.discard(old)

    def forget(self, key: str) -> None:
        """The tab is gone: delete its staged files and drop its record."""
        with self._lock:
            visitor = self._visitors.pop(key, None)
        if visitor is not None:
            uploads.discard(visitor.staged_data)
            uploads.discard(visitor.staged_points)
            exports.discard(visitor.export_dir)

    def __len__(self) -> int:
        return len(self._visitors)
