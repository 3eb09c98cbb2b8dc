"""Files the page offers for download: config JSON, metrics CSV, generator checkpoint, GIFs.

Gradio copies a returned file into its own cache (which Blocks(delete_cache=...) cleans), so the
file we write is only a staging copy, read once right after the handler returns. Staging happens
in one private temp folder per process, and every new export first removes staging folders
older than STAGING_MAX_AGE_S: a Space that runs for weeks must not fill its disk with old
exports. The app deletes Gradio's cached copies after KEEP_FILES_S, and the page says how long
a download link lasts.
"""
from __future__ import annotations

import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

from PIL import Image

from ..checkpoint import save_generator
from ..config import TrainConfig

KEEP_FILES_S = 300          # Gradio's copies (download links, GIFs, uploads): 5 minutes
STAGING_MAX_AGE_S = 60      # ours: Gradio has copied them long before
STAT_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")
_ROOT = Path(tempfile.gettempdir()) / "gan-playground-exports"


def staging_dir() -> Path:
    """A fresh folder for one export (old ones are pruned first)."""
    _ROOT.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in _ROOT.iterdir():
        try:
            if now - old.stat().st_mtime > STAGING_MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:          # another export removed it first
            pass
    return Path(tempfile.mkdtemp(prefix="export-", dir=_ROOT))


def write_config(folder: Path, config: TrainConfig) -> Path:
    """config.json: the full resolved config (TrainConfig.from_json reads it back)."""
    path = folder / "config.json"
    path.write_text(config.to_json())
    return path


def write_metrics(folder: Path, curves: Mapping[str, Sequence[float]],
                  evals: Sequence[Mapping[str, float]]) -> Path:
    """metrics.csv in the CLI's layout: step, the step statistics, then quality columns that are
    filled on evaluation rows. Rows are the page's (decimated) history, ordered by step."""
    quality = [k for k in dict.fromkeys(k for row in evals for k in row) if k != "step"]
    rows: dict[int, dict] = {}
    for index, step in enumerate(curves.get("step", [])):
        rows[int(step)] = {name: curves[name][index] for name in STAT_COLUMNS if name in curves}
    for row in evals:
        rows.setdefault(int(row["step"]), {}).update({k: row[k] for k in quality if k in row})
    path = folder / "metrics.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *STAT_COLUMNS, *quality])
        for step in sorted(rows):
            writer.writerow([step] + [rows[step].get(k, "") for k in (*STAT_COLUMNS, *quality)])
    return path


def write_checkpoint(folder: Path, trainer) -> Path:
    """generator.safetensors (weights + config + data shape); call inside Session.with_trainer."""
    return save_generator(folder / "generator.safetensors", trainer.generator, trainer.config,
                          trainer.dataset.shape)


def write_gif(frames: Sequence[Image.Image], path: Path, frame_ms: int = 120) -> Path:
    """An animated GIF that loops forever. (PIL merges identical consecutive frames.)"""
    first, *rest = frames
    first.save(path, save_all=True, append_images=rest, duration=frame_ms, loop=0)
    return path
