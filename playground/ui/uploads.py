"""What a visitor may upload, and the checks each upload goes through before it is used.

- a config file (.json): read as text (size-capped) and validated by TrainConfig like every
  other config;
- training images (.png/.jpg/... or one .zip): copied into a private folder of this visitor, so
  the `folder` dataset only ever reads what was uploaded. The page never takes a server path:
  `data_path` has no control and is set here, server side, from the upload. Zip entries that
  escape their folder, zip bombs and oversized images are refused by data.py when the data is
  loaded;
- checkpoints (.safetensors) are checked by checkpoint.load_generator (never unpickled).
Gradio itself refuses any upload above MAX_UPLOAD_BYTES (launch(max_file_size=...)).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ..config import ConfigError, TrainConfig
from ..points_csv import read_points, write_points
from ..data import IMAGE_EXTENSIONS, MAX_IMAGES

MAX_UPLOAD_BYTES = 200 * 2**20           # any single upload (the largest: a checkpoint)
MAX_CONFIG_BYTES = 64 * 2**10
MAX_IMAGES_BYTES = 100 * 2**20           # all training images of one upload together
_ROOT = Path(tempfile.gettempdir()) / "gan-playground-uploads"


class UploadError(ValueError):
    """An upload that is refused, with the reason in words."""


def read_config(path: str | None) -> TrainConfig:
    """A config.json upload as a validated TrainConfig (data_path is never taken from it)."""
    if not path:
        raise UploadError("no file was uploaded")
    file = Path(path)
    if file.suffix.lower() != ".json":
        raise UploadError(f"{file.name!r} is not a .json config file")
    if file.stat().st_size > MAX_CONFIG_BYTES:
        raise UploadError(f"{file.name!r} is larger than {MAX_CONFIG_BYTES >> 10} KB: not a config file")
    config = TrainConfig.from_json(file.read_text(errors="replace"))
    return config.replace(data_path="", data_root="")    # paths on this server are not the visitor's to set


def stage_images(paths: Sequence[str] | None) -> Path:
    """Copy uploaded images (or one zip) into a fresh private folder; returns the data_path.

    The folder's name is random (mkdtemp) and says nothing of the visitor: the session hash
    is the visitor's only credential and must never appear in a path that could be shown."""
    files = [Path(p) for p in (paths or []) if p]
    if not files:
        raise UploadError("no images were uploaded")
    zips = [f for f in files if f.suffix.lower() == ".zip"]
    if zips and len(files) > 1:
        raise UploadError("upload either one .zip or image files, not both")
    if not zips:
        wrong = [f.name for f in files if f.suffix.lower() not in IMAGE_EXTENSIONS]
        if wrong:
            raise UploadError(f"{wrong[0]!r} is not an image ({', '.join(sorted(IMAGE_EXTENSIONS))} or one .zip)")
        if len(files) > MAX_IMAGES:
            raise UploadError(f"{len(files)} images is more than the {MAX_IMAGES} allowed")
    total = sum(f.stat().st_size for f in files)
    if total > MAX_IMAGES_BYTES:
        raise UploadError(f"the upload is {total / 2**20:.0f} MB, more than the {MAX_IMAGES_BYTES >> 20} MB allowed")
    _ROOT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=_ROOT))
    if zips:
        target = folder / "images.zip"
        shutil.copyfile(zips[0], target)
        return target
    for index, file in enumerate(files):
        # Our own names: an uploaded name never decides where a file lands.
        shutil.copyfile(file, folder / f"{index:05d}{file.suffix.lower()}")
    return folder


def stage_points(source: str | None = None, points=None) -> Path:
    """A checked copy of an uploaded points CSV (or a drawing's points) in a fresh private
    folder; DataError says in words what is wrong with the file."""
    if source is None and points is None:
        raise UploadError("no points file was uploaded")
    if source is not None and Path(source).suffix.lower() not in (".csv", ".txt"):
        raise UploadError(f"{Path(source).name!r} is not a .csv file of x, y points")
    checked = read_points(source) if source is not None else points     # DataError in words
    _ROOT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=_ROOT))
    return write_points(folder / "points.csv", checked)


def discard(path: str | Path | None) -> None:
    """Remove a staged upload (when replaced, or when the visitor leaves)."""
    if not path:
        return
    staged = Path(path)
    folder = staged if staged.is_dir() else staged.parent
    if folder.parent == _ROOT:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["UploadError", "read_config", "stage_images", "discard", "ConfigError",
           "MAX_UPLOAD_BYTES"]
