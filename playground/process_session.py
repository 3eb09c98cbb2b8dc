"""ProcessSession: a Session whose run trains in a process of its own, not in the web server's.

    session = ProcessSession(config)     # no process until a command needs a run
    session.start()                      # the same commands, notices and snapshots as Session
    snap = session.snapshot()            # the child's latest snapshot, pushed a few times a second

Why: in one process, the training thread and the web server share one GIL. Every request the
server answers is Python work that the training thread waits for: 30 students following a run
at 1 Hz cost the server about 0.3 core of GIL time, and the run fell to 0.6-0.7 of its rate
(bench/follow.py, bench/RESULTS.md §15). In its own process the run has its own GIL and its own
core; the server and the followers share the other.

How: the child holds a real Session and answers one command at a time over a pipe: (name,
args, kwargs) in, (outcome, value, snapshot) out. It is forked from a fork server that has
already imported torch and the core and stepped a tiny run (fork_warmup.py), so a new one
builds its run in milliseconds. A pusher thread
in the child sends the snapshot whenever it changes, at most every PUSH_EVERY_S, so the
server's page ticks read the latest one without asking. Errors raised by a command (a
ConfigError, a DataError...) are raised again here. `with_run` / `with_trainer` send their
function to the child, so it must be picklable: a module-level function, a functools.partial
of one, or an operator.attrgetter / methodcaller, never a lambda.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import queue
import threading
import time

import torch

from .config import TrainConfig
from .session import Session
from .snapshot import Notice, Snapshot

PUSH_EVERY_S = 0.25           # the page ticks at 1 Hz; its step count is at most this stale
REPLY_TIMEOUT_S = 600.0       # a command waits this long for the child (a build, an export)
ENDED = "run_process_ended"   # the notice when the child died under the run (ui/wording.py)
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["playground.session", "playground.fork_warmup"])


def warm_up() -> None:
    """Start the fork server now, in the background: it imports torch and the core once
    (~3 s here), so the first visitor's Start does not wait for that."""
    from multiprocessing import forkserver
    threading.Thread(target=forkserver.ensure_running, name="gan-forkserver-warm-up",
                     daemon=True).start()


def _child_main(conn, config: TrainConfig, threads: int) -> None:
    """The child: a Session, its commands from `conn`, and its snapshots pushed back."""
    torch.set_num_threads(threads)
    session = Session(config)
    send_lock = threading.Lock()
    done = threading.Event()

    def push() -> None:
        last = None
        while not done.wait(PUSH_EVERY_S):
            with send_lock:               # taken and sent in one go: never older than a reply
                snap = session.snapshot()
                key = (snap.version, snap.step, snap.state, snap.notice)
                if key != last:
                    conn.send(("snapshot", snap))
                    last = key

    threading.Thread(target=push, name="gan-snapshot-push", daemon=True).start()
    try:
        while (message := conn.recv()) is not None:
            name, args, kwargs = message
            try:
                target = getattr(session, name)
                outcome = ("ok", target(*args, **kwargs) if callable(target) else target)
            except Exception as error:    # the caller's to handle, as in one process
                outcome = ("error", _sendable(error))
            with send_lock:
                conn.send(("reply", *outcome, session.snapshot()))
    except (EOFError, OSError):
        pass                              # the server went away: end with it
    finally:
        done.set()
        session.stop()


def _sendable(error: Exception) -> Exception:
    """`error` if it survives pickling (ours do), else a RuntimeError with its type and words:
    an error that cannot cross the pipe must not take the child down with it."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


class ProcessSession:
    """Session's API, served by a child process. Safe to call from any thread."""

    def __init__(self, config: TrainConfig | None = None):
        # Until a command needs a run, a plain Session here (no thread, no run: it validates and
        # keeps the config and the notices), so a visitor who only opens the page, edits the
        # controls or is refused by the run cap costs no process.
        self._local = Session(config or TrainConfig())
        self._snapshot = self._local.snapshot()
        self._replies: queue.Queue | None = None
        self._call_lock = threading.Lock()
        self._process = None
        self._conn = None
        self._stopped = False
        self.last_seen = time.monotonic()

    # --- the child ---------------------------------------------------------------------------
    def _ensure_child(self) -> None:
        """Start the child on first use, or after it died (call with _call_lock held)."""
        if self._process is not None:
            return
        ours, theirs = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(target=_child_main, name="gan-run",
                                         args=(theirs, self._local.config, torch.get_num_threads()),
                                         daemon=True)
        self._process.start()
        theirs.close()
        self._snapshot = self._local.snapshot()          # until the child's first message
        self._conn, self._replies = ours, queue.Queue()   # a fresh queue: no stale "gone"
        threading.Thread(target=self._receive, args=(ours, self._replies),
                         name="gan-run-receiver", daemon=True).start()

    def _receive(self, conn, replies: queue.Queue) -> None:
        """Snapshots to _snapshot, replies to the waiting command. When the child ends without
        being stopped (killed for memory, a crash), the page is told and the run is over."""
        try:
            while True:
                message = conn.recv()
                self._snapshot = message[-1]
                if message[0] == "reply":
                    replies.put(message[1:3])
        except (EOFError, OSError):
            if not self._stopped:
                self._snapshot = dataclasses.replace(self._snapshot, state="stopped",
                                                     notice=Notice(ENDED), steps_per_s=0.0)
            replies.put(("gone", None))

    def _call(self, name: str, *args, **kwargs):
        """`name`(*args, **kwargs) on the child's Session; its value, or its error raised here.
        If the child has died, the command answers Notice(ENDED) and the next one starts a
        fresh child (the run is lost, the session goes on)."""
        return self._ask(Notice(ENDED), name, args, kwargs)

    def _ask(self, gone, name: str, args: tuple = (), kwargs: dict | None = None):
        """_call's work; `gone` is what to answer when the child has died."""
        kwargs = kwargs or {}
        self.last_seen = time.monotonic()
        with self._call_lock:
            if self._stopped:
                return Notice("closed")
            self._ensure_child()
            try:
                self._conn.send((name, args, kwargs))
                outcome, value = self._replies.get(timeout=REPLY_TIMEOUT_S)
            except OSError:                 # the pipe broke under the send
                outcome, value = "gone", None
            except queue.Empty:
                raise RuntimeError(f"the run's process did not answer {name!r} in time") from None
            if outcome == "gone":
                self._forget_child()
                return gone
        if outcome == "error":
            raise value
        return value

    def _forget_child(self) -> None:
        """After the child died: back to a local Session with the run's last config, which
        tells the page what happened (the tick shows its notice)."""
        process, self._process = self._process, None
        self._conn.close()
        process.join(timeout=5)
        self._local = Session(self._snapshot.config or self._local.config)
        self._local.notify(Notice(ENDED))

    # --- Session's commands --------------------------------------------------------------------
    # Those that need a run go to the child (started on the first); the others stay local
    # until there is one.
    def start(self, config: TrainConfig | None = None) -> Notice:
        return self._call("start", config)

    def step(self, d_steps: int | None = None, g_steps: int | None = None) -> Notice:
        return self._call("step", d_steps, g_steps)

    def explain(self):
        return self._ask((Notice(ENDED), []), "explain")

    def reset(self, config: TrainConfig | None = None) -> Notice:
        return self._call("reset", config)

    def resume(self, path) -> Notice:
        return self._call("resume", str(path))

    def pause(self) -> Notice:
        return self._child_or_local("pause")

    def update(self, **changes) -> Notice:
        return self._child_or_local("update", **changes)

    def restore(self) -> Notice:
        return self._child_or_local("restore")

    def notify(self, notice: Notice) -> Notice:
        return self._child_or_local("notify", notice)

    def _child_or_local(self, name: str, *args, **kwargs) -> Notice:
        """A command that needs no run: the child's Session answers it once there is a child,
        the local one before."""
        if self._live():
            return self._call(name, *args, **kwargs)
        return getattr(self._local, name)(*args, **kwargs)

    def with_run(self, fn):
        """fn(run) in the child, between steps; fn must be picklable (see the module's note).
        None before any run exists, as Session's."""
        return self._ask(None, "with_run", (fn,)) if self._live() else None

    def with_trainer(self, fn):
        return self._ask(None, "with_trainer", (fn,)) if self._live() else None

    def _live(self) -> bool:
        """Whether a child holds the session now (else the local Session does)."""
        return self._process is not None and not self._stopped

    def has_run(self) -> bool:
        return self._live() and self._ask(False, "has_run")

    @property
    def config(self) -> TrainConfig:
        """The config the next fresh run would use."""
        return self._ask(self._local.config, "config") if self._live() else self._local.config

    @property
    def run_pid(self) -> int | None:
        """The pid of the process the run trains in (None before there is one)."""
        return self._process.pid if self._live() else None

    @property
    def step_count(self) -> int:
        """The run's step as last pushed, without counting as watching."""
        return self._snapshot.step if self._live() else 0

    @property
    def running(self) -> bool:
        return self._live() and self._snapshot.state == "running"

    def snapshot(self) -> Snapshot:
        """The latest snapshot the child pushed (its step at most PUSH_EVERY_S old), or the
        local Session's before there is a child."""
        self.last_seen = time.monotonic()
        return self._snapshot if self._live() else self._local.snapshot()

    def stop(self) -> None:
        """End the run and its process."""
        with self._call_lock:
            if self._stopped:
                return
            self._stopped = True
            process, conn = self._process, self._conn
        if process is None:
            self._local.stop()
            return
        try:
            conn.send(None)
        except OSError:
            pass
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
        conn.close()


__all__ = ["ProcessSession", "warm_up"]
