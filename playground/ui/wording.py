"""The page's words: command outcomes (snapshot.Notice), the status line, refusals, findings.

The session and the core answer with codes and numbers; every sentence a visitor reads is made
here, with the controls' labels (ui/controls.py) rather than config keys, and plain numbers.
"""
from __future__ import annotations

from ..config import ConfigError
from ..snapshot import Notice, Snapshot
from .controls import LABELS

SEVERITY_MARK = {"error": "🛑", "warning": "⚠️", "info": "ℹ️"}
BEFORE_RUN = "Findings appear here while training."
ALL_WELL = "No problems detected so far."
STEPPED = {"both": "One step done.", "d": "One D update done.", "g": "One G update done."}

NOTICES = {
    "ready": "Press Start to train.",
    "started": "Training.",
    "paused": "Paused: Start goes on from here.",
    "reset": "Fresh weights: press Start.",
    "stopped": "This run has ended.",
    "closed": "This session has ended: reload the page.",
    "run_process_ended": ("The run's process ended unexpectedly (the server may have run short of "
                          "memory), so this run is lost: press Start or Step for a fresh one."),
    "diverged": ("The run diverged: a loss became infinite or NaN, so training paused itself "
                 "(see Findings). Restore the last good weights, or lower the learning rates and "
                 "press Reset."),
    "restored": "Back to the last good weights: press Start or Step.",
    "nothing_to_restore": "Nothing to restore: the run has not diverged.",
    "pause_first": "Pause first to step one at a time.",
    "explained": "One step in slow motion: press Next to walk through it.",
}


def label(key: str) -> str:
    """A config key as the page names it ("Learning rate of D")."""
    return LABELS.get(key, key)


def number(value) -> str:
    """A plain number: 0.001 not 1e-03, 64 not 64.0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) >= 1e-4 else f"{value:g}"


def notice_text(notice: Notice) -> str:
    """One sentence for a command's outcome."""
    code = notice.code
    if code in NOTICES:
        return NOTICES[code]
    if code == "stepped":
        return STEPPED[notice.get("which", "both")]
    if code == "applied":
        parts = [f"{label(k)} is now {number(v)}" for k, v in notice.get("live", ())]
        later = notice.get("later", ())
        if later:
            parts.append(f"{', '.join(label(k) for k in later)}: takes effect after Reset")
        return ("; ".join(parts) + ".") if parts else "Saved for the next run."
    if code == "resumed":
        return f"The saved run is back at step {notice.get('step')}: press Start to go on training it."
    if code == "rebuilt":
        keys = ", ".join(label(k) for k in notice.get("keys", ()))
        return f"{keys} changed, so this is a fresh run."
    if code == "cap_reached":
        return (f"{notice.get('count')} runs are already training on this server, the most it "
                "allows: try again shortly.")
    if code == "unwatched":
        return (f"Paused after {notice.get('seconds')} s with nobody watching (this frees the "
                "server for others): press Start to go on.")
    return code


def refusal(err: Exception) -> str:
    """A refused value or action, for the message area: labels and plain numbers."""
    if isinstance(err, ConfigError):
        shown = "nothing" if err.value in (None, "") else repr(err.value) if isinstance(err.value, str) else number(err.value)
        return f"⚠️ {label(err.key)}: {err.allowed}; you typed {shown}."
    return f"⚠️ {err}"


def status_line(snap: Snapshot) -> str:
    """'running · step N · X steps/s · elapsed S s': state, step, the measured rate, time."""
    rate = snap.steps_per_s if snap.state == "running" else 0.0
    return f"{snap.state} · step {snap.step} · {rate:.1f} steps/s · elapsed {snap.elapsed_s:.0f} s"


def findings_markdown(snap: Snapshot) -> str:
    """Each finding's title in bold and its explanation, in plain words."""
    if snap.version == 0:
        return BEFORE_RUN
    if not snap.findings:
        return ALL_WELL
    return "\n\n".join(f"{SEVERITY_MARK.get(f.severity, '')} **{f.title}**  \n{f.message}"
                       for f in snap.findings)
