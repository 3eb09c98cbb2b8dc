"""Uploads on a public Space: a disguised pickle, a zip-slip entry, a zip bomb and an oversized
file are each refused with a clear message; configs are validated like every other config."""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from browser_helpers import free_port
from playground import data, ingest
from playground.config import ConfigError, TrainConfig
from playground.data import DataError, make_dataset
from playground.registry import SessionRegistry
from playground.ui import uploads
from playground.ui.latent_handlers import LatentHandlers
from playground.ui.visitors import Visitors
from playground.ui.uploads import UploadError, read_config, stage_images
from latent_calls import check, slide, walk



def png(path: Path, colour=(200, 30, 30)) -> Path:
    Image.new("RGB", (12, 12), colour).save(path)
    return path


class Boom:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_disguised_pickle_checkpoint_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(pickle.dumps(Boom(marker)))
    latent = LatentHandlers(SessionRegistry(), Visitors())
    message, source = check(latent, SimpleNamespace(session_hash="v"), str(fake))
    assert "not a safetensors checkpoint" in message and source == "session"
    assert not marker.exists()


def test_pickle_with_another_suffix_is_refused(tmp_path):
    fake = tmp_path / "model.pt"
    fake.write_bytes(pickle.dumps({"weights": 1}))
    message, _ = check(LatentHandlers(SessionRegistry(), Visitors()), SimpleNamespace(session_hash="v"), str(fake))
    assert "only .safetensors" in message


def staged_folder_config(staged: Path) -> TrainConfig:
    return TrainConfig(dataset="folder", data_path=str(staged), image_size=16)


def test_zip_slip_entry_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        buffer = io.BytesIO()
        Image.new("L", (8, 8), 255).save(buffer, "PNG")
        zf.writestr("ok.png", buffer.getvalue())
        zf.writestr("../../escape.png", buffer.getvalue())
    staged = stage_images([str(archive)])
    with pytest.raises(DataError, match="escape"):
        make_dataset(staged_folder_config(staged))
    uploads.discard(staged)


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNZIPPED_BYTES", 1 << 20)   # a 1 MB cap keeps the test tiny
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("huge.png", "w") as entry:
            for _ in range(8):
                entry.write(b"\0" * (1 << 20))
    assert archive.stat().st_size < 100_000                      # small on disk, 8 MB inside
    staged = stage_images([str(archive)])
    with pytest.raises(DataError):
        make_dataset(staged_folder_config(staged))
    uploads.discard(staged)


def test_images_are_staged_under_our_own_names(tmp_path):
    files = [str(png(tmp_path / f"../{tmp_path.name}/cat{i}.PNG")) for i in range(3)]
    staged = stage_images(files)
    assert staged.parent == uploads._ROOT and sorted(p.name for p in staged.iterdir()) == [
        "00000.png", "00001.png", "00002.png"]
    dataset = make_dataset(staged_folder_config(staged))
    assert dataset.size == 3 and dataset.shape == (3, 16, 16)
    uploads.discard(staged)
    assert not staged.exists()


def test_image_uploads_are_checked(tmp_path, monkeypatch):
    with pytest.raises(UploadError, match="not an image"):
        stage_images([str(tmp_path / "notes.txt")])
    (tmp_path / "a.zip").write_bytes(b"PK")
    with pytest.raises(UploadError, match="either one .zip"):
        stage_images([str(tmp_path / "a.zip"), str(png(tmp_path / "b.png"))])
    monkeypatch.setattr(uploads, "MAX_IMAGES_BYTES", 10)
    with pytest.raises(UploadError, match="MB allowed"):
        stage_images([str(png(tmp_path / "c.png"))])
    with pytest.raises(UploadError):
        stage_images([])


def test_config_upload_is_validated(tmp_path):
    good = tmp_path / "config.json"
    good.write_text(json.dumps({"loss": "hinge", "lr_d": 0.0005, "data_path": "/etc"}))
    config = read_config(str(good))
    assert config.loss == "hinge" and config.lr_d == 0.0005 and config.data_path == ""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lr_d": -1}))
    with pytest.raises(ConfigError, match="lr_d"):
        read_config(str(bad))
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"lr_x": 1}))
    with pytest.raises(ConfigError, match="lr_x"):
        read_config(str(unknown))
    big = tmp_path / "big.json"
    big.write_text(" " * (uploads.MAX_CONFIG_BYTES + 1))
    with pytest.raises(UploadError, match="KB"):
        read_config(str(big))
    with pytest.raises(UploadError, match="json"):
        read_config(str(png(tmp_path / "x.png")))


def test_oversized_upload_is_refused_by_the_server(tmp_path, monkeypatch):
    """The launched app refuses a file above max_file_size before any handler sees it."""
    gradio_client = pytest.importorskip("gradio_client")
    from playground.ui.app import build_app
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(SessionRegistry())
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                max_file_size=1024)
    try:
        big = tmp_path / "big.safetensors"
        big.write_bytes(os.urandom(4096))
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        with pytest.raises(Exception) as info:
            client.predict(gradio_client.handle_file(str(big)), api_name="/load_checkpoint")
        assert "size" in str(info.value).lower() or "large" in str(info.value).lower() or "413" in str(info.value)
        client.close()
    finally:
        demo.close()


def test_folder_data_comes_only_from_an_upload(tmp_path):
    """The page's `folder` dataset trains on the visitor's upload and nothing else."""
    from playground.ui.controls import values_from_config
    from playground.ui.train_handlers import TrainHandlers
    from playground.ui.visitors import Visitors
    registry, visitors = SessionRegistry(), Visitors()
    registry.on_close(visitors.forget)
    train = TrainHandlers(registry, visitors)
    request = SimpleNamespace(session_hash="owner")
    config = TrainConfig(dataset="folder", image_size=8, width=8, depth=1, batch_size=4, z_dim=4)
    try:
        assert "upload" in train.step(request, values_from_config(config))["message"]
        files = [str(png(tmp_path / f"{i}.png", (i * 40, 0, 0))) for i in range(4)]
        assert "ready" in train.upload_images(request, {"images_upload": files})["message"]
        assert train.step(request, values_from_config(config))["message"] == "One step done."
        session, visitor = registry.get("owner"), visitors.get("owner")
        assert session.trainer.config.data_path == visitor.staged_data
        assert session.trainer.dataset.size == 4
        assert "owner" not in visitor.staged_data            # the session hash is no file name
        staged = Path(visitor.staged_data)
        train.close(request)
        assert not staged.exists()
    finally:
        registry.close("owner")


def test_a_session_closed_by_the_idle_sweep_leaves_no_staged_upload(tmp_path):
    """A tab that vanished without unload: the registry's sweeper closes it, and the visitor's
    staged images go with it (the same cleanup path as a closed tab)."""
    import time
    from playground.ui.train_handlers import TrainHandlers
    from playground.ui.visitors import Visitors
    registry = SessionRegistry(idle_s=0.3, unwatched_s=0.2, sweep_every_s=0.1)
    visitors = Visitors()
    registry.on_close(visitors.forget)
    train = TrainHandlers(registry, visitors)
    request = SimpleNamespace(session_hash="vanished")
    files = [str(png(tmp_path / f"{i}.png", (i * 40, 0, 0))) for i in range(3)]
    assert "ready" in train.upload_images(request, {"images_upload": files})["message"]
    registry.get("vanished")
    staged = Path(visitors.get("vanished").staged_data)
    assert staged.exists()
    deadline = time.monotonic() + 10
    while staged.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not staged.exists() and len(registry) == 0 and len(visitors) == 0
