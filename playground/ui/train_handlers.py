"""The Train tab's handlers: a few lines each, from the page's values to a Session and back.

Every handler is `fn(request, values) -> dict` keyed by elem_id (ui/page.py): `values` holds
the inputs it was bound to, the returned dict the outputs it changes. The caller's Session is
found by `request.session_hash`; tests pass any object with a `session_hash` attribute.

Nothing is lost on a refusal: a bad value, an over-budget Reset or a lesson whose data cannot
be had leaves the run, the controls and the charts as they were (the Session builds the new run
before it drops the old one), and the refused box goes back to the value the run uses.
"""
from __future__ import annotations

import functools
from typing import Any

from ..checkpoint import CheckpointError
from ..config import ConfigError, TrainConfig, get_preset
from ..data import DataError
from ..points_csv import points_from_drawing
from ..session import Session
from ..film import frame_at, frame_picture
from ..pictures import png_data_uri
from . import exports, predict, tick, uploads
from .controls import DATASET_LABELS, KEYS, config_from_values, shown, values_from_config
from .visitors import Visitors
from .wording import label, notice_text, refusal

USER_ERRORS = (ConfigError, DataError)


def lesson_markdown(preset) -> str:
    return f"### {preset.title}\n{preset.summary}\n\n{preset.lesson}"


class TrainHandlers:
    """The Train tab's event handlers, bound to one SessionRegistry and the visitors' records."""

    def __init__(self, registry, visitors: Visitors):
        self.registry = registry
        self.visitors = visitors

    def _session(self, request) -> Session:
        return self.registry.get(request.session_hash)

    def _config(self, request, values: dict[str, Any]) -> TrainConfig:
        """The controls' config; for `folder` data, this visitor's own staged upload."""
        config = config_from_values({k: values[k] for k in KEYS if k in values})
        if config.dataset == "csv":
            points = self.visitors.get(request.session_hash).staged_points
            if not points:
                raise ConfigError("dataset", "csv", "a points file first: upload a CSV of x, y "
                                  "or draw on the canvas (Files tab)")
            return config.replace(data_path=points)
        if config.dataset != "folder":
            return config
        staged = self.visitors.get(request.session_hash).staged_data
        if not staged:
            raise ConfigError("dataset", "folder", "an upload of your images first "
                              "(“Your own images and configs” below the controls)")
        return config.replace(data_path=staged)

    def _refused(self, request, err: Exception) -> dict[str, Any]:
        """The message, and the refused box back at the value the session holds."""
        out: dict[str, Any] = {"message": refusal(err)}
        key = getattr(err, "key", None)
        if key in KEYS:
            out[key] = values_from_config(self._session(request).config)[key]
        return out

    # --- uploads -------------------------------------------------------------------------
    def upload_images(self, request, values) -> dict:
        """Stage training images (or one zip) for dataset 'folder'."""
        files = values.get("images_upload")
        if not files:
            return {}
        try:
            staged = uploads.stage_images(files)
        except uploads.UploadError as err:
            return {"message": f"⚠️ {err}"}
        names = [str(f).replace("\\", "/").rsplit("/", 1)[-1] for f in files]
        self.visitors.stage_data(request.session_hash, str(staged), names[0])
        return {"message": f"{len(files)} file(s) ready ({names[0]}{', …' if len(names) > 1 else ''}): "
                           f"choose “{DATASET_LABELS['folder']}” as Data and press Reset or Start "
                           "(unreadable images are skipped and counted)"}

    def upload_points(self, request, values) -> dict:
        """Stage a CSV of x, y points for dataset 'csv' (checked row by row)."""
        file = values.get("points_upload")
        if not file:
            return {}
        try:
            staged = uploads.stage_points(source=file)
        except (uploads.UploadError, DataError) as err:
            return {"message": f"⚠️ {err}"}
        return self._use_points(request, staged)

    def use_drawing(self, request, values) -> dict:
        """The canvas's strokes as a points file for dataset 'csv'."""
        drawing = values.get("draw_points") or {}
        composite = drawing.get("composite") if isinstance(drawing, dict) else None
        if composite is None:
            return {"message": "⚠️ Draw some strokes on the canvas first."}
        try:
            staged = uploads.stage_points(points=points_from_drawing(composite))
        except (uploads.UploadError, DataError) as err:
            return {"message": f"⚠️ {err}"}
        return self._use_points(request, staged)

    def _use_points(self, request, staged) -> dict:
        self.visitors.stage_points(request.session_hash, str(staged))
        return {"dataset": "csv", "message": f"{DATASET_LABELS['csv'].capitalize()}: ready as Data; "
                                              "press Reset or Start to train on them."}

    def upload_config(self, request, values) -> dict:
        """Fill the controls from an uploaded config.json (validated like every config)."""
        file = values.get("config_upload")
        if not file:
            return {}
        try:
            config = uploads.read_config(file)
        except (uploads.UploadError, ConfigError, OSError) as err:
            return {"message": refusal(err)}
        return {**values_from_config(config),
                "message": "Config loaded into the controls: press Reset or Start."}

    def upload_run(self, request, values) -> dict:
        """Carry on a saved run (checkpoint.safetensors from Downloads or the CLI)."""
        file = values.get("run_upload")
        if not file:
            return {}
        try:
            notice = self._session(request).resume(file)
        except (CheckpointError, *USER_ERRORS) as err:
            return {"message": refusal(err)}
        return {**values_from_config(self._session(request).config), "message": notice_text(notice)}

    # --- lessons and controls --------------------------------------------------------------
    def load_preset(self, request, values) -> dict:
        """A lesson is a new experiment: fresh weights, its controls and its text. Refused
        (unknown name, data that cannot be had): everything stays on the current lesson."""
        visitor = self.visitors.get(request.session_hash)
        try:
            preset = get_preset(values["preset"])
            session = self._session(request)
            if session.has_run():
                session.reset(preset.config)       # builds first: a refusal changes nothing
            else:
                session.update(**preset.config.to_dict())
        except USER_ERRORS as err:
            return {"preset": visitor.lesson, "message": refusal(err)}
        visitor.lesson = preset.name
        return {**values_from_config(preset.config), "lesson": lesson_markdown(preset),
                **predict.ask(preset.name),
                "message": f"Loaded “{preset.title}”: fresh weights, press Start."}

    def update(self, request, values) -> dict:
        """A control changed: live keys apply now, others are kept for the next Reset/Start."""
        try:
            notice = self._session(request).update(**self._config(request, values).to_dict())
        except USER_ERRORS as err:
            return self._refused(request, err)
        return {} if notice.code == "unchanged" else {"message": notice_text(notice)}

    # --- run buttons -----------------------------------------------------------------------
    def start(self, request, values) -> dict:
        try:
            notice = self.registry.start(request.session_hash, self._config(request, values))
        except USER_ERRORS as err:
            return self._refused(request, err)
        return {"message": notice_text(notice)}

    def pause(self, request, values) -> dict:
        return {"message": notice_text(self._session(request).pause())}

    def step(self, request, values) -> dict:
        return self._single(request, values, None, None)

    def d_step(self, request, values) -> dict:
        return self._single(request, values, 1, 0)

    def g_step(self, request, values) -> dict:
        return self._single(request, values, 0, 1)

    def _single(self, request, values, d_steps, g_steps) -> dict:
        """One step. The controls' config is adopted when valid; an invalid pending value
        (say DCGAN on point data, not yet applied) does not block stepping the current run."""
        session = self._session(request)
        warning = ""
        try:
            session.update(**self._config(request, values).to_dict())
        except USER_ERRORS as err:
            if not session.has_run():
                return self._refused(request, err)
            warning = " " + refusal(err)
        try:
            notice = session.step(d_steps, g_steps)
        except USER_ERRORS as err:
            return self._refused(request, err)
        return {"message": notice_text(notice) + warning}

    def reset(self, request, values) -> dict:
        try:
            notice = self._session(request).reset(self._config(request, values))
        except USER_ERRORS as err:
            return self._refused(request, err)
        return {"message": notice_text(notice)}

    def restore(self, request, values) -> dict:
        return {"message": notice_text(self._session(request).restore())}

    # --- downloads -------------------------------------------------------------------------
    def export(self, request, values) -> dict:
        """config.json, metrics.csv, events.csv and the checkpoint of this visitor's run."""
        session = self._session(request)
        visitor = self.visitors.get(request.session_hash)
        folder = exports.folder_for(visitor.export_dir)
        visitor.export_dir = str(folder)
        files = session.with_run(functools.partial(exports.export_run, folder))
        if files is None:
            return {"message": "No run yet: press Start or Step first, then prepare downloads."}
        step = session.snapshot().step
        return {"downloads": [str(f) for f in files],
                "message": f"Exported step {step}; the links last "
                           f"{exports.KEEP_FILES_S // 60} minutes."}

    # --- the page refresh (1 Hz) --------------------------------------------------------------
    def refresh(self, request, values) -> dict:
        """tick.tick on this page's run, or on the run it follows (read-only, shared figures),
        and the lesson's answer once the run reaches its reveal step."""
        visitor = self.visitors.get(request.session_hash)
        code = visitor.following
        found = self.registry.followed_key(code) if code else None
        if code and found is None:
            return {"status": "the shared run has ended"}
        # A follower's page normally ticks through ui/follow.py; this serves one whose own
        # timer still runs. Either way the figures are the lecturer's run's, keyed by its owner.
        owner, session = found or (request.session_hash, self._session(request))
        snap = session.snapshot()
        out = tick.tick(snap, values.get("sent"), owner=owner)
        before = (values.get("sent") or {}).get("answer_text")
        revealed = predict.answer(visitor.lesson, snap.step, values.get("question"))
        if revealed is not None and revealed != before:
            out["answer"] = revealed
        out["sent"] = {**out["sent"], "answer_text": revealed if revealed is not None else before}
        return out

    # --- history -------------------------------------------------------------------------
    def show_frame(self, request, values) -> dict:
        """The recorded view at the slider's frame, with its step written on it."""
        try:
            index = int(float(values.get("history_slider") or 0))
        except (TypeError, ValueError):
            return {}
        frame = self._session(request).with_run(functools.partial(frame_at, index=index))
        if frame is None:
            return {"history_view": "<p>No frames yet: press Start.</p>"}
        frame, real = frame
        picture = frame_picture(frame, real)
        return {"history_view": f'<img src="{png_data_uri(picture)}" alt="the samples at step '
                                f'{frame.step}"><p>step {frame.step}</p>'}

    def close(self, request, values=None) -> None:
        """The tab closed: stop its run (the registry's on_close drops the visitor's files)."""
        self.registry.close(request.session_hash)


__all__ = ["TrainHandlers", "lesson_markdown", "label", "shown"]
