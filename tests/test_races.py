"""Rapid Start/Pause/Reset/Step clicks in any order, with live edits during steps: never two
threads for one session, never a stuck session, never a torn snapshot.

>= 200 random command sequences, each run by three threads at once (three impatient clicks),
while a monitor thread counts trainer threads and checks every snapshot it can grab.
"""
from __future__ import annotations

import random
import threading
import time

from browser_helpers import trainer_threads
from playground.config import TrainConfig
from playground.session import Session

SEQUENCES = 200
TINY = TrainConfig(width=8, depth=1, batch_size=16, z_dim=2)
COMMANDS = ("start", "pause", "reset", "step", "d_step", "g_step", "update", "update", "snapshot", "restore")


def run_command(session: Session, command: str, rng: random.Random) -> None:
    if command == "start":
        session.start(TINY.replace(seed=rng.randrange(3)) if rng.random() < 0.2 else None)
    elif command == "pause":
        session.pause()
    elif command == "reset":
        session.reset()
    elif command == "step":
        session.step()
    elif command == "d_step":
        session.step(1, 0)
    elif command == "g_step":
        session.step(0, 1)
    elif command == "update":
        session.update(lr_d=rng.choice((1e-3, 5e-4, 2e-3)), d_steps=rng.choice((1, 2, 3)))
    elif command == "restore":
        session.restore()
    else:
        session.snapshot()


def check_snapshot(snap) -> None:
    """A snapshot is whole: its curves are aligned and its samples fit its kind."""
    lengths = {len(v) for v in snap.curves.values()}
    assert len(lengths) <= 1, f"torn curves: {lengths}"
    if snap.samples is not None:
        assert snap.samples.ndim == (2 if snap.kind == "points" else 4)


def test_random_command_sequences_never_race():
    session = Session(TINY)
    errors: list[BaseException] = []
    most_threads = 0
    stop = threading.Event()

    def monitor():
        nonlocal most_threads
        while not stop.is_set():
            most_threads = max(most_threads, trainer_threads())
            try:
                check_snapshot(session.snapshot())
            except BaseException as err:       # noqa: BLE001 - reported below
                errors.append(err)
            time.sleep(0.001)

    def clicker(seed: int, commands: list[str]):
        rng = random.Random(seed)
        try:
            for command in commands:
                run_command(session, command, rng)
        except BaseException as err:           # noqa: BLE001 - reported below
            errors.append(err)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    rng = random.Random(7)
    try:
        for sequence in range(SEQUENCES):
            clickers = [threading.Thread(target=clicker, args=(sequence * 3 + i, rng.choices(COMMANDS, k=4)))
                        for i in range(3)]
            for c in clickers:
                c.start()
            for c in clickers:
                c.join(timeout=30)
                assert not c.is_alive(), f"sequence {sequence}: a command is stuck (deadlock?)"
            assert not errors, f"sequence {sequence}: {errors[0]!r}"
            assert trainer_threads() <= 1
        session.pause()
        assert trainer_threads() == 0
        # Still healthy after all that: it trains.
        session.reset()
        session.start()
        deadline = time.monotonic() + 10
        while session.snapshot().step < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.snapshot().step >= 5
    finally:
        stop.set()
        watcher.join()
        session.stop()
    assert most_threads <= 1, f"{most_threads} trainer threads at once for one session"
    assert trainer_threads() == 0
