"""Files the page offers for download: config.json, metrics.csv, events.csv, the checkpoint, the
run's timelapse (GIF and MP4), and the Latent tab's walk GIF.

Each visitor has ONE export folder, inside Gradio's own file cache: Gradio serves a returned
file that is already in its cache without copying it, so ten exports of a running run leave one
set of files on disk (each export overwrites the last), not ten. The folder's name is random: a
download link never carries the session hash (the visitor's only credential) or a server path.
Gradio's cache sweep (Blocks(delete_cache=...)) removes files older than KEEP_FILES_S, and a
closed tab's folder is removed at once (ui/visitors.py).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from PIL import Image

from ..checkpoint import save_generator
from ..film import write_timelapse
from ..run_state import save_run

KEEP_FILES_S = 300          # Gradio's copies (download links, GIFs, uploads): 5 minutes


def cache_root() -> Path:
    """Gradio's file cache (GRADIO_TEMP_DIR, else <tmp>/gradio), where served files may stay."""
    base = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    root = Path(base) / "gan-playground"
    root.mkdir(parents=True, exist_ok=True)
    return root


def folder_for(current: str) -> Path:
    """The visitor's export folder (`current` if it still exists, else a fresh random one)."""
    if current and Path(current).is_dir():
        return Path(current)
    return Path(tempfile.mkdtemp(prefix="export-", dir=cache_root()))


def export_run(folder: Path, run) -> list[Path]:
    """config.json, metrics.csv, events.csv, generator.safetensors (for the Latent tab),
    checkpoint.safetensors (the whole run, to resume) and the timelapse, into `folder`.
    Call between steps (Session.with_run). No server path is written: data_path becomes ""."""
    config = run.config.replace(data_path="", data_root="")
    (folder / "config.json").write_text(config.to_json())
    files = [folder / "config.json"]
    log = getattr(run, "log", None)
    if log is not None:
        log.flush()
        for source in log.files:
            shutil.copyfile(source, folder / source.name)
            files.append(folder / source.name)
    files.append(save_generator(folder / "generator.safetensors", run.trainer.generator, config,
                                run.trainer.dataset.shape))
    files.append(save_run(folder / "checkpoint.safetensors", run.trainer, config))   # to resume
    if run.film is not None:
        points = run.trainer.dataset.kind == "points"
        files += write_timelapse(run.film, folder, run.real[:300] if points else None)
    return files


def write_gif(frames: Sequence[Image.Image], path: Path, frame_ms: int = 120) -> Path:
    """An animated GIF that loops forever. (PIL merges identical consecutive frames.)"""
    first, *rest = frames
    first.save(path, save_all=True, append_images=rest, duration=frame_ms, loop=0)
    return path


def discard(folder: str | Path | None) -> None:
    """Remove a visitor's export folder (the tab closed)."""
    if folder and Path(folder).parent == cache_root():
        shutil.rmtree(folder, ignore_errors=True)
