"""Reading a visitor's images: a folder or a .zip, decoded to uint8 arrays under hard caps.

Everything here reads untrusted bytes (uploads of a public Space), so it lives apart from the
data sets that only read known files: data.py asks `read_images(path, size)` and gets pixels.
The caps bound what one upload can cost:
- a zip is read in memory (never extracted), entry by entry, READ_CHUNK bytes at a time: an
  entry stops at MAX_ENTRY_BYTES (skipped) and all entries together at MAX_UNZIPPED_BYTES
  (refused), counted on the bytes really inflated, not on the sizes the headers declare;
- an image above MAX_IMAGE_PIXELS is skipped before it is decoded (decompression bombs);
- at most MAX_IMAGES files are read.
Messages name files by their base name only: a visitor never sees a server path.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

MAX_IMAGES = 20_000                  # images read from a folder or zip (245 MB as 64x64 RGB)
MAX_UNZIPPED_BYTES = 200 * 2**20     # total uncompressed bytes read from one zip
MAX_ENTRY_BYTES = 32 * 2**20         # one zip entry (a 30-megapixel JPEG is ~15 MB)
MAX_IMAGE_PIXELS = 32 * 2**20        # pixels decoded for one image (~100 MB as RGB)
READ_CHUNK = 2**20                   # bytes inflated per read of a zip entry
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


class DataError(ValueError):
    """Data that cannot be had (offline download, empty folder, unsafe zip); user-facing message."""


def read_images(path: Path, size: int) -> tuple[torch.Tensor, int]:
    """(uint8 images (N, C, size, size), files skipped) from a directory or a .zip of images.

    DataError when `path` is neither, when a cap is passed, or when no image is readable.
    """
    if not path.exists():
        raise DataError(f"{path.name!r} does not exist")
    if path.is_dir():
        sources: Iterable[Path | io.BytesIO | None] = _directory_sources(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        sources = _zip_sources(path)
    else:
        raise DataError(f"{path.name!r} is neither a directory nor a .zip file of images")
    images, skipped = _decode_all(sources, size)
    if images is None:
        raise DataError(f"no readable images in {path.name!r} ({skipped} skipped)")
    return images, skipped


def _is_image_name(name: str) -> bool:
    # Hidden files and macOS resource forks (__MACOSX/._x.png) are not pictures.
    parts = name.replace("\\", "/").split("/")
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and name.lower().endswith(IMAGE_EXTENSIONS)


def _directory_sources(root: Path) -> list[Path]:
    """Image files under `root` (recursively), sorted so that a run is repeatable."""
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and _is_image_name(str(p.relative_to(root))))
    if len(files) > MAX_IMAGES:
        raise DataError(f"{root.name!r} holds {len(files)} images; at most {MAX_IMAGES} are allowed")
    return files


def _checked_entries(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The archive's file entries, after the checks that need no reading (paths, counts, sizes)."""
    entries = [e for e in archive.infolist() if not e.is_dir()]
    for entry in entries:
        # Zip slip: nothing is written to disk here, but an archive that names paths outside
        # itself is hostile or broken, so it is refused rather than half-read.
        parts = entry.filename.replace("\\", "/")
        if parts.startswith("/") or ".." in parts.split("/") or parts[1:2] == ":":
            raise DataError(f"refusing {name}: entry {entry.filename!r} points outside "
                            f"the archive (absolute path or '..')")
    if len(entries) > MAX_IMAGES:
        raise DataError(f"refusing {name}: {len(entries)} entries, at most {MAX_IMAGES}")
    declared = sum(e.file_size for e in entries)
    if declared > MAX_UNZIPPED_BYTES:
        raise DataError(f"refusing {name}: {declared / 2**20:.0f} MB uncompressed, "
                        f"at most {MAX_UNZIPPED_BYTES / 2**20:.0f} MB")
    return [e for e in entries if _is_image_name(e.filename)]


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo,
                limit: int) -> tuple[io.BytesIO | None, int]:
    """(the entry's bytes, how many were inflated), never more than `limit` + one READ_CHUNK.

    The bytes are None when the entry is unreadable (bad CRC, encrypted, unsupported method)
    or longer than `limit`: reading stops there, whatever the header declared.
    """
    buffer, count = io.BytesIO(), 0
    try:
        with archive.open(entry) as stream:
            while count <= limit and (chunk := stream.read(READ_CHUNK)):
                buffer.write(chunk)
                count += len(chunk)
    except Exception:                 # zipfile raises many types on a broken entry
        return None, count
    if count > limit:
        return None, count
    buffer.seek(0)
    return buffer, count


def _zip_sources(path: Path) -> Iterator[io.BytesIO | None]:
    """The image entries of a zip, one in memory at a time; None for an entry that is skipped."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{path.name} is not a readable zip file ({type(err).__name__})") from None
    with archive:
        left = MAX_UNZIPPED_BYTES     # counted again while reading: declared sizes can lie
        for entry in _checked_entries(archive, path.name):
            data, count = _read_entry(archive, entry, min(MAX_ENTRY_BYTES, left))
            left -= count
            if left < 0:
                raise DataError(f"refusing {path.name}: more than "
                                f"{MAX_UNZIPPED_BYTES / 2**20:.0f} MB uncompressed")
            yield data


def _decode(source: Path | io.BytesIO | None, size: int) -> np.ndarray | None:
    """One image centre-cropped and resized to a (3, size, size) uint8 array; None if unreadable."""
    from PIL import Image, ImageOps

    if source is None:
        return None
    try:
        with Image.open(source) as image:
            image.draft(image.mode, (size, size))   # JPEG: decode at a reduced scale, cheaply
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None                         # decompression bomb or just far too big
            square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
            return np.asarray(square, dtype=np.uint8).transpose(2, 0, 1)
    except Exception:   # PIL raises many types (OSError, SyntaxError, ValueError, bomb errors)
        return None


def _decode_all(sources: Iterable[Path | io.BytesIO | None], size: int) -> tuple[torch.Tensor | None, int]:
    """(uint8 images (N, C, size, size) or None if none were readable, number skipped).

    C is 3 if any image has colour, else 1: a folder of grey scans trains a 1-channel model.
    """
    arrays, skipped = [], 0
    for source in sources:
        array = _decode(source, size)
        if array is None:
            skipped += 1
        else:
            arrays.append(array)
    if not arrays:
        return None, skipped
    images = torch.from_numpy(np.stack(arrays))                     # (N, 3, S, S)
    grey = bool((images[:, :1] == images[:, 1:]).all())
    return (images[:, :1].clone() if grey else images), skipped
