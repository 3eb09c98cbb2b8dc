"""Worker: the background thread of one visitor's job, shared by Session, Comparison and MapJob.

    class Session(Worker):
        @command
        def start(self):
            with self._lock:
                self._launch("gan-trainer")      # a thread runs self._work() unless one does
        @command
        def pause(self):
            self._halt()                         # asks the thread to stop, waits for it

A job has at most one worker thread, and the thread exits whenever it is not asked to run
(paused, finished, diverged, closed), so an idle server has no job threads. The subclass writes
`_work(*args)`: a loop that, under `_lock`, reads `_want_running` / `_closed` and clears
`_thread` in the same moment it decides to return (a Start arriving then starts a new thread).

Locks, always taken in this order:
- `_command_lock` (re-entrant) makes commands one at a time (`command`): without it a Start
  arriving while a Pause waits for the thread would re-arm it, and the Pause would wait forever.
  The thread never takes it, so a command may safely wait for the thread.
- (a subclass's own step lock, held for a whole training step)
- `_lock` guards the job's fields and is held only for moments; a UI tick takes no other lock.
"""
from __future__ import annotations

import functools
import threading
import time

# Trainer construction seeds torch's global RNG for the initial weights; builds from several
# visitors' threads must not interleave there, or a seed would no longer fix the weights. The
# dataset is loaded before the lock: one visitor's slow load never delays another's Start.
BUILD_LOCK = threading.Lock()


def command(method):
    """Run a method of a background job under its re-entrant `_command_lock`, one command at a
    time, and note that someone is watching (`last_seen`, read by the registry's idle sweep)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._command_lock:
            self.last_seen = time.monotonic()
            return method(self, *args, **kwargs)
    return locked


class Worker:
    """The thread, the flags it reads, and its start and stop (see the module docstring)."""

    def __init__(self):
        self._command_lock = threading.RLock()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._want_running = False
        self._closed = False
        self.last_seen = time.monotonic()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _work(self, *args) -> None:
        raise NotImplementedError("a job's worker loop")

    def _launch(self, name: str, *args) -> None:
        """Ask to run, and start the thread `name` on _work(*args) unless one is alive.
        Call with `_lock` held, so the flag and the thread are decided together."""
        self._want_running = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, args=args, name=name, daemon=True)
            self._thread.start()

    def _halt(self) -> None:
        """Ask the thread to stop after its current step, and wait until it has."""
        with self._lock:
            self._want_running = False
        self._join()

    def _halt_was_running(self) -> bool:
        """_halt(), then whether the job's snapshot still says "running": the caller records its
        own "paused" notice then; otherwise the notice already there (diverged, done) stands."""
        self._halt()
        return self._snapshot.state == "running"

    def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


__all__ = ["BUILD_LOCK", "Worker", "command"]
