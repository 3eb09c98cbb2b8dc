"""SessionRegistry: every visitor's Session, a cap on runs training at once, and a sweeper.

    registry = SessionRegistry(max_running=2)
    registry.start(key, config)          # refused with Notice("cap_reached") when the cap is hit
    registry.on_close(fn)                # fn(key) when a session ends: the UI drops its uploads
    code = registry.share(key)           # others follow that run read-only: followed(code)

The cap is what keeps a 2-vCPU Space usable: each run takes about one core. A visitor can also
simply vanish (a tab killed without unload, a raw API client), so a sweeper thread checks
every `sweep_every_s` seconds, whoever presses anything or not:
- a *running* session nobody has watched (no tick, no command) for `unwatched_s` pauses itself,
  which frees its slot;
- a session nobody has watched for `idle_s` is closed (its run dropped, on_close called).
The sweeper thread runs only while there are sessions, so an idle server has no threads of ours.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Callable

from .config import TrainConfig
from .session import Notice, Session

DEFAULT_UNWATCHED_S = 180.0
DEFAULT_IDLE_S = 600.0
SWEEP_EVERY_S = 5.0


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable `name` (else `default`)."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not allowed: a number of seconds > 0") from None
    if not value > 0:
        raise SystemExit(f"{name}={raw!r} is not allowed: a number of seconds > 0")
    return value


class SessionRegistry:
    """Sessions keyed by the browser session, with a run cap and a background sweeper."""

    def __init__(self, max_running: int = 2, idle_s: float | None = None,
                 unwatched_s: float | None = None, sweep_every_s: float = SWEEP_EVERY_S,
                 config: TrainConfig | None = None,
                 session_class: Callable[[TrainConfig], Session] = Session):
        self.max_running = max_running
        # Session (a thread in this process) or process_session.ProcessSession (a process per
        # run, what the served app uses: bench/RESULTS.md §15); both have the same API.
        self.session_class = session_class
        self.config = config or TrainConfig()     # what a new session starts from (the page's default)
        self.idle_s = idle_s or seconds_from_env("GAN_PLAYGROUND_IDLE_S", DEFAULT_IDLE_S)
        self.unwatched_s = unwatched_s or seconds_from_env("GAN_PLAYGROUND_UNWATCHED_S",
                                                           DEFAULT_UNWATCHED_S)
        self.sweep_every_s = sweep_every_s
        self._sessions: dict[str, Session] = {}
        self._codes: dict[str, str] = {}          # follow code -> the sharing session's key
        self._starting: set[str] = set()
        self._closers: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None

    def on_close(self, fn: Callable[[str], None]) -> None:
        """Call fn(key) whenever a session ends (tab closed or swept)."""
        self._closers.append(fn)

    def get(self, key: str) -> Session:
        """The session for `key`, created on first use."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = self.session_class(self.config)
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep_loop, name="gan-sweeper",
                                                 daemon=True)
                self._sweeper.start()
            return session

    def find(self, key: str) -> Session | None:
        """The session for `key` if there is one (never creates one)."""
        with self._lock:
            return self._sessions.get(key)

    def start(self, key: str, config: TrainConfig | None = None) -> Notice:
        """Start `key`'s run unless the cap is reached; the check and the start are one step."""
        session = self.get(key)
        with self._lock:
            busy = {k for k, s in self._sessions.items() if s.running} | self._starting
            busy.discard(key)
            if not session.running and len(busy) >= self.max_running:
                return session.notify(Notice("cap_reached", (("count", len(busy)),)))
            self._starting.add(key)     # holds the slot while the run is built, outside the lock
        try:
            return session.start(config)
        finally:
            with self._lock:
                self._starting.discard(key)

    # --- following a run ------------------------------------------------------------------
    def share(self, key: str) -> str:
        """A short code under which others may follow `key`'s run, read-only (one per run)."""
        with self._lock:
            for code, owner in self._codes.items():
                if owner == key:
                    return code
            code = secrets.token_hex(3).upper()            # 6 characters: easy to read out
            self._codes[code] = key
            return code

    def unshare(self, key: str) -> None:
        with self._lock:
            self._codes = {c: k for c, k in self._codes.items() if k != key}

    def followed(self, code: str) -> Session | None:
        """The session shared under `code` (never creates one), or None."""
        found = self.followed_key(code)
        return found[1] if found else None

    def followed_key(self, code: str) -> tuple[str, Session] | None:
        """(the sharing session's key, its Session) under `code`, or None. The key lets a
        follower's page share the lecturer's own figure builds (ui/tick.py's cache)."""
        with self._lock:
            key = self._codes.get(code.strip().upper())
            session = self._sessions.get(key) if key else None
            return (key, session) if session is not None else None

    def start_job(self, key: str, job, *args) -> Notice:
        """Start `job` (a comparison, a map: anything with a Session's running, last_seen,
        start, pause, stop and notify) as ONE run under `key`: the cap check and the start are
        one step, as in start(). The job is kept among the sessions, so it counts against the
        cap, the sweeper pauses it unwatched and closes it idle, and close(key) stops it."""
        with self._lock:
            busy = {k for k, s in self._sessions.items() if s.running} | self._starting
            busy.discard(key)
            if not job.running and len(busy) >= self.max_running:
                return job.notify(Notice("cap_reached", (("count", len(busy)),)))
            self._sessions[key] = job
            self._starting.add(key)
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep_loop, name="gan-sweeper",
                                                 daemon=True)
                self._sweeper.start()
        try:
            return job.start(*args)
        finally:
            with self._lock:
                self._starting.discard(key)

    def close(self, key: str) -> None:
        """Stop and forget `key`'s session (the browser tab closed, or it was swept)."""
        self.unshare(key)                                  # the code dies with the run
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            session.stop()
        for fn in self._closers:
            fn(key)

    def sweep(self) -> None:
        """Pause runs nobody watches, close sessions nobody has looked at for idle_s."""
        now = time.monotonic()
        with self._lock:
            sessions = list(self._sessions.items())
        for key, session in sessions:
            unseen = now - session.last_seen
            if unseen > self.idle_s:
                self.close(key)
            elif unseen > self.unwatched_s and session.running:
                session.pause()
                session.last_seen = now - unseen      # pausing is not watching: keep the clock
                session.notify(Notice("unwatched", (("seconds", round(self.unwatched_s)),)))

    def _sweep_loop(self) -> None:
        while True:
            time.sleep(self.sweep_every_s)
            self.sweep()
            with self._lock:
                if not self._sessions:
                    self._sweeper = None
                    return

    def keys(self) -> list[str]:
        """The keys of every session and job held now (e.g. to close them all)."""
        with self._lock:
            return list(self._sessions)

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.running)

    def __len__(self) -> int:
        return len(self._sessions)


__all__ = ["SessionRegistry", "seconds_from_env"]
