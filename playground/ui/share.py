"""Share links, a class mode, and following a lecturer's run.

A link carries a setup in its query, TensorFlow Playground style:

    ?lesson=ring_collapse&set=lr_d:0.004,d_steps:3,seed:2&tab=train&hide=advanced,loss&autostart=1

- `lesson`: the preset; `set`: the controls that differ from it (key:value, comma-separated;
  the seed is always carried); `tab`: which tab opens; `hide`: controls to hide for a class
  (control keys such as `loss`, or the groups `advanced`, `controls`, `files`, `lesson`);
  `autostart`: start the run at once.
- `follow=CODE` opens a read-only live view of the run that shared CODE: the page ticks on that
  run's snapshot through its own light tick (ui/follow.py), and its figures are built and
  serialised once per snapshot for all followers (tick.py's FigureCache), so thirty students
  cost the lecturer's run thirty small calls a second, not thirty figure builds. The code
  dies with the run, or when the lecturer stops sharing.

Everything a link asks for goes through TrainConfig like any typed value: a bad key or value is
refused with the field's name and the rest of the link still applies.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import gradio as gr

from ..config import ConfigError, get_preset
from .controls import CONTROLS, KEYS, config_from_values, values_from_config
from .train_handlers import lesson_markdown
from .wording import refusal

TABS = ("train", "latent", "dirac", "compare", "stability_map")   # the gr.Tab ids of ui/app.py
GROUPS = {"advanced": "advanced_tab", "controls": "controls_tab", "files": "files_tab",
          "lesson": "preset"}
RUN_BAR = ("start", "pause", "step", "reset", "preset", "d_step", "g_step", "restore")
FOLLOW_NOTE = "👀 Following a shared run: read-only, it updates live. Close the tab to leave."


def link_query(lesson: str, values: dict[str, Any], tab: str = "train") -> str:
    """The query of a link that restores `values` (the controls) on top of `lesson`."""
    base = values_from_config(get_preset(lesson).config)
    config = config_from_values({k: values[k] for k in KEYS if k in values})
    current = values_from_config(config)
    changed = [f"{k}:{current[k]}" for k in KEYS if current[k] != base[k] and k != "seed"]
    changed.append(f"seed:{config.seed}")
    return "?" + urlencode({"lesson": lesson, "set": ",".join(changed), "tab": tab}, safe=":,")


def parse_set(text: str) -> dict[str, str]:
    """'lr_d:0.004,d_steps:3' -> {'lr_d': '0.004', 'd_steps': '3'} (validated later)."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition(":")
        if not sep or key not in KEYS:
            raise ConfigError("set", item, f"key:value pairs of the controls ({', '.join(KEYS)})")
        pairs[key] = value
    return pairs


def hidden_ids(text: str) -> tuple[list[str], list[str]]:
    """(component ids to hide, names that mean nothing) for the `hide` flag."""
    ids, unknown = [], []
    for name in filter(None, (part.strip() for part in text.split(","))):
        if name in GROUPS:
            ids.append(GROUPS[name])
        elif name in KEYS:
            ids.append(name)
        else:
            unknown.append(name)
    return ids, unknown


class ShareHandlers:
    """The Share button, the follow buttons, and opening a link (the page's load event)."""

    def __init__(self, registry, visitors, train):
        self.registry = registry
        self.visitors = visitors
        self.train = train                   # TrainHandlers: opening a lesson, starting

    def share(self, request, values) -> dict:
        lesson = self.visitors.get(request.session_hash).lesson
        try:
            return {"share_link": link_query(lesson, values)}
        except ConfigError as err:
            return {"message": refusal(err)}

    def follow_start(self, request, values) -> dict:
        code = self.registry.share(request.session_hash)
        return {"follow_code": f"Students open this page with **?follow={code}** "
                               f"(code `{code}`); it ends when your run ends or you stop sharing."}

    def follow_stop(self, request, values) -> dict:
        self.registry.unshare(request.session_hash)
        return {"follow_code": "Sharing stopped: the follow code no longer works."}

    def open_link(self, request, values) -> dict:
        """Apply the query of the page's URL: lesson, set, hide, autostart, follow, tab."""
        query = dict(getattr(request, "query_params", None) or {})
        out: dict[str, Any] = {}
        if query.get("follow"):
            return self._follow(request, query["follow"].strip())
        notes = []
        if query.get("lesson") or query.get("set"):
            out.update(self._setup(request, query, notes))
        setup = {k: v for k, v in out.items() if k in KEYS}     # the values, before any hiding
        ids, unknown = hidden_ids(query.get("hide", ""))
        # A side tab is hidden with gr.Tab(visible="hidden"): in Gradio 6.31 a visible=False
        # update leaves its button in the tab bar.
        out.update({i: gr.Tab(visible="hidden") if i.endswith("_tab") else gr.update(visible=False)
                    for i in ids})
        if unknown:
            notes.append(f"⚠️ hide: nothing is called {', '.join(unknown)}")
        if query.get("tab") in TABS:
            out["main_tabs"] = gr.Tabs(selected=query["tab"])
        if query.get("autostart") in ("1", "true", "yes") and not any(n.startswith("⚠️") for n in notes):
            started = self.train.start(request, {**values, **setup})
            notes.append(started["message"])
        if notes:
            out["message"] = " ".join(notes)
        return out

    def _setup(self, request, query: dict, notes: list) -> dict:
        lesson = query.get("lesson") or self.visitors.get(request.session_hash).lesson
        out = self.train.load_preset(request, {"preset": lesson})
        if "lesson" not in out:                  # refused: the message says why
            notes.append(out.get("message", ""))
            return {k: v for k, v in out.items() if k != "message"}
        notes.append(out.pop("message"))
        try:
            wanted = {**{k: out[k] for k in KEYS}, **parse_set(query.get("set", ""))}
            config = config_from_values(wanted)
            self.train.registry.get(request.session_hash).update(**config.to_dict())
        except ConfigError as err:
            notes.append(refusal(err))
            return out
        return {**out, **values_from_config(config), "preset": lesson}

    def _follow(self, request, code: str) -> dict:
        if self.registry.followed(code) is None:
            return {"message": f"⚠️ No run is shared with the code {code!r} (it ends with its run)."}
        visitor = self.visitors.get(request.session_hash)
        visitor.following, visitor.follow_sent = code, {}
        # The buttons' row goes too: left empty, it would sit on the page as a blank box.
        hide = {i: gr.update(visible=False) for i in RUN_BAR + ("run_buttons", "side_panel")}
        # The page refreshes through the follower's light tick (ui/follow.py), not the tab's.
        timers = {"timer": gr.Timer(active=False), "follow_timer": gr.Timer(active=True)}
        return {**hide, **timers, "message": FOLLOW_NOTE, "main_tabs": gr.Tabs(selected="train")}


SHARE_OUTPUTS = ("message", "share_link")
LOAD_OUTPUTS = tuple(dict.fromkeys(("message", "lesson", "question", "answer", "preset",
                                    "main_tabs", "side_panel", "run_buttons", "timer", "follow_timer",
                                    *KEYS, *GROUPS.values(), *RUN_BAR)))
__all__ = ["ShareHandlers", "link_query", "parse_set", "hidden_ids", "CONTROLS"]
