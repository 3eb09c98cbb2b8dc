"""playground.data and playground.ingest: the registry, seeded point samplers and the image
loaders on tiny files; a visitor's folder or zip read under caps that hold while inflating.

No network: torchvision's loaders read tiny files written here in their on-disk layout, and
the download path runs with name resolution switched off, so it fails fast even when online.
"""
import io
import pickle
import socket
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from playground import ingest
from playground.config import DATASET_CHOICES, POINT_DATASETS, TrainConfig
from playground.data import DATASETS, DataError, make_dataset


def draw(dataset, n, seed):
    return dataset.sample(n, torch.Generator().manual_seed(seed))


def test_registry_keys_are_the_config_choices():
    assert tuple(DATASETS) == DATASET_CHOICES


# --- points -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [k for k in POINT_DATASETS if k != "csv"])   # csv: tests/test_points_csv.py
def test_points_are_seeded_float32_pairs(key):
    dataset = make_dataset(TrainConfig(dataset=key))
    x = draw(dataset, 2000, seed=0)
    assert (dataset.kind, dataset.shape) == ("points", (2,))
    assert x.shape == (2000, 2) and x.dtype == torch.float32
    assert torch.isfinite(x).all() and x.abs().max() < 4.5
    assert x.std(0).min() > 0.5                              # spread out, not a blob
    assert torch.equal(x, draw(dataset, 2000, seed=0))
    assert not torch.equal(x, draw(dataset, 2000, seed=1))
    real = dataset.real_samples(500)
    assert real.dtype == np.float32 and np.array_equal(real, dataset.real_samples(500))


@pytest.mark.parametrize("key, count", [("ring", 8), ("grid", 25)])
def test_mixture_samples_lie_near_their_modes(key, count):
    dataset = make_dataset(TrainConfig(dataset=key))
    assert dataset.modes.shape == (count, 2) and dataset.mode_std == 0.05
    x = draw(dataset, 4000, seed=0).numpy()
    distance = np.linalg.norm(x[:, None, :] - dataset.modes[None], axis=-1)
    near = distance.min(1) < 3 * dataset.mode_std
    assert near.mean() > 0.95
    assert len(np.unique(distance.argmin(1)[near])) == count   # every mode gets samples


def test_points_need_no_modes():
    assert make_dataset(TrainConfig(dataset="moons")).modes is None


# --- digits (offline, shipped with scikit-learn) ----------------------------------------------

@pytest.mark.parametrize("size", [8, 16, 28])
def test_digits_shape_and_range(size):
    dataset = make_dataset(TrainConfig(dataset="digits", image_size=size))
    x = draw(dataset, 64, seed=0)
    assert (dataset.kind, dataset.shape, dataset.size) == ("images", (1, size, size), 1797)
    assert x.shape == (64, 1, size, size) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    assert x.mean() < -0.2                                   # mostly black: white ink on black
    assert torch.equal(x, draw(dataset, 64, seed=0))


# --- torchvision data sets from tiny files in their layout ------------------------------------

def write_idx(path, array):
    """An uncompressed idx file (the MNIST format): uint8 magic 0x08, dimensions, data."""
    path.write_bytes(struct.pack(">HBB", 0, 0x08, array.ndim)
                     + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())


def write_mnist(root, class_name, count=20):
    raw = root / class_name / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255                            # a white square on black
    for split, n in (("train", count), ("t10k", 5)):
        write_idx(raw / f"{split}-images-idx3-ubyte", images[:n])
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)


@pytest.mark.parametrize("key, class_name", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
@pytest.mark.parametrize("size", [28, 16])
def test_mnist_family_from_idx_files(tmp_path, key, class_name, size):
    write_mnist(tmp_path, class_name)
    dataset = make_dataset(TrainConfig(dataset=key, data_root=str(tmp_path), image_size=size))
    x = draw(dataset, 8, seed=0)
    assert dataset.size == 20 and dataset.shape == (1, size, size)
    assert x.shape == (8, 1, size, size) and x.min() == -1 and x.max() == 1


def test_cifar10_from_pickled_batches(tmp_path, monkeypatch):
    # torchvision checks the md5 of the real files; tiny stand-ins need that check off.
    import torchvision.datasets.cifar
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    red = np.zeros((2, 3, 32, 32), np.uint8)
    red[:, 0] = 255                                           # pure red: channel order shows
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": red.reshape(2, -1), "labels": [0, 1]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)
    dataset = make_dataset(TrainConfig(dataset="cifar10", data_root=str(tmp_path), image_size=32))
    x = draw(dataset, 4, seed=0)
    assert dataset.size == 10 and x.shape == (4, 3, 32, 32)
    assert (x[:, 0] == 1).all() and (x[:, 1:] == -1).all()


@pytest.mark.parametrize("key", ["mnist", "cifar10"])
def test_offline_download_is_a_clear_error(tmp_path, monkeypatch, key):
    def offline(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", offline)
    with pytest.raises(DataError) as err:
        make_dataset(TrainConfig(dataset=key, data_root=str(tmp_path)))
    name = {"mnist": "MNIST", "cifar10": "CIFAR-10"}[key]
    assert str(err.value) == (f"{name} needs a one-time download, and this server cannot reach "
                              "the internet. Choose “digits (8×8 scans, offline)” instead.")


def test_unreadable_download_cache_names_no_server_path(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / name).write_bytes(b"\0\0\x08\x03 truncated")   # right names, broken files
    with pytest.raises(DataError, match="cannot be read") as err:
        make_dataset(TrainConfig(dataset="mnist", data_root=str(tmp_path)))
    assert str(tmp_path) not in str(err.value) and "digits" in str(err.value)


# --- user images: folder and zip ----------------------------------------------------------------

def png_bytes(size=(12, 10), colour=(128, 128, 128)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def folder_config(path, **changes):
    return TrainConfig(dataset="folder", data_path=str(path), image_size=16, **changes)


def test_folder_skips_unreadable_files(tmp_path):
    for i in range(3):
        (tmp_path / f"grey{i}.png").write_bytes(png_bytes(colour=(40 * i,) * 3))
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    (tmp_path / "notes.txt").write_text("not an image, not counted")
    dataset = make_dataset(folder_config(tmp_path))
    assert (dataset.size, dataset.skipped, dataset.shape) == (3, 1, (1, 16, 16))   # grey -> 1 channel
    x = draw(dataset, 5, seed=0)
    assert x.shape == (5, 1, 16, 16) and -1 <= x.min() and x.max() <= 1


def test_folder_with_colour_gives_three_channels(tmp_path):
    (tmp_path / "grey.png").write_bytes(png_bytes())
    (tmp_path / "red.jpg").write_bytes(png_bytes(colour=(255, 0, 0)))   # PIL sniffs content
    dataset = make_dataset(folder_config(tmp_path))
    assert dataset.shape == (3, 16, 16) and dataset.size == 2


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def test_zip_is_read_in_memory(tmp_path):
    entries = {f"pics/{i}.png": png_bytes(colour=(0, 50 * i, 0)) for i in range(3)}
    entries["pics/broken.jpg"] = b"\xff\xd8 truncated"
    entries["__MACOSX/pics/._0.png"] = b"resource fork, ignored"
    dataset = make_dataset(folder_config(write_zip(tmp_path / "pics.zip", entries)))
    assert (dataset.size, dataset.skipped, dataset.shape) == (3, 1, (3, 16, 16))


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/evil.png"])
def test_zip_slip_is_refused(tmp_path, name):
    archive = write_zip(tmp_path / "slip.zip", {"ok.png": png_bytes(), name: png_bytes()})
    with pytest.raises(DataError, match="evil.png"):
        make_dataset(folder_config(archive))


def test_zip_bomb_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNZIPPED_BYTES", 2 * 2**20)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.png", "w") as entry:          # 16 MB of zeros, ~16 kB on disk
            for _ in range(16):
                entry.write(bytes(2**20))
    with pytest.raises(DataError, match="uncompressed"):
        make_dataset(folder_config(path))


def test_zip_that_lies_about_its_size_is_not_read_past_it(tmp_path):
    path = write_zip(tmp_path / "liar.zip", {"liar.png": bytes(4 * 2**20)})
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 24:central + 28] = struct.pack("<I", 100)   # declare 100 bytes, hold 4 MB
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"no readable images .*\(1 skipped\)"):
        make_dataset(folder_config(path))


def test_too_many_zip_entries_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_IMAGES", 2)
    archive = write_zip(tmp_path / "many.zip", {f"{i}.png": png_bytes() for i in range(3)})
    with pytest.raises(DataError, match="3 entries"):
        make_dataset(folder_config(archive))


def test_oversized_image_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_IMAGE_PIXELS", 200)       # a decompression bomb, in miniature
    (tmp_path / "small.png").write_bytes(png_bytes(size=(10, 10)))
    (tmp_path / "huge.png").write_bytes(png_bytes(size=(40, 40)))
    dataset = make_dataset(folder_config(tmp_path))
    assert (dataset.size, dataset.skipped) == (1, 1)


def test_folder_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="data_path is required"):
        make_dataset(TrainConfig(dataset="folder"))
    with pytest.raises(DataError, match=r"no readable images .*\(0 skipped\)"):
        make_dataset(folder_config(tmp_path))
    (tmp_path / "bad.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"\(1 skipped\)"):
        make_dataset(folder_config(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        make_dataset(folder_config(tmp_path / "missing"))
    (tmp_path / "bad.png").rename(tmp_path / "bad.zip")
    with pytest.raises(DataError, match="neither a directory nor a .zip"):
        make_dataset(folder_config(tmp_path / "bad.zip"))


def inflated_peak(config):
    """(the DataError make_dataset raised, peak bytes of Python allocations while it ran)."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as err:
            make_dataset(config)
        return err.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zip_entry_is_cut_at_its_cap_while_inflating(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("big.png", "w") as entry:          # 128 MB of zeros, honestly declared
            for _ in range(128):
                entry.write(bytes(2**20))
    assert path.stat().st_size < 1 << 20
    err, peak = inflated_peak(folder_config(path))
    assert "(1 skipped)" in str(err)                         # too big for one image: skipped
    assert peak < ingest.MAX_ENTRY_BYTES + 8 * ingest.READ_CHUNK   # never the whole 128 MB


def test_zip_header_that_lies_small_is_never_read_past_it(tmp_path):
    path = write_zip(tmp_path / "liar.zip", {"liar.png": bytes(64 * 2**20)})
    raw = bytearray(path.read_bytes())
    local, central = raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")
    raw[local + 22:local + 26] = struct.pack("<I", 100)       # both headers: 100 bytes, hold 64 MB
    raw[central + 24:central + 28] = struct.pack("<I", 100)
    path.write_bytes(bytes(raw))
    err, peak = inflated_peak(folder_config(path))
    assert "(1 skipped)" in str(err) and peak < 8 * 2**20


@pytest.mark.parametrize("layout", ["missing", "not-zip", "empty", "too-many"])
def test_folder_messages_name_no_server_path(tmp_path, monkeypatch, layout):
    target = tmp_path / "visitor-upload"
    if layout == "not-zip":
        target.write_bytes(b"junk")
    elif layout in ("empty", "too-many"):
        target.mkdir()
        for i in range(3):
            (target / f"{i}.png").write_bytes(png_bytes() if layout == "too-many" else b"junk")
        monkeypatch.setattr(ingest, "MAX_IMAGES", 2)
    with pytest.raises(DataError) as err:
        make_dataset(folder_config(target))
    assert str(tmp_path) not in str(err.value) and "visitor-upload" in str(err.value)
