"""A corpus of bad slide files, made in well under a second from small valid tiled TIFFs.

Each family is a way a lab's file really goes wrong, and each must be refused with words the lab
can act on (never a traceback, a hang, a blown memory limit or a confident TPS):
- truncations and an empty file: an interrupted copy or upload;
- header byte flips: a first IFD past the end (damaged), a flipped magic byte (not a TIFF);
- byte flips in level 0's tile data: bit rot; it either scores or fails cleanly (a damaged
  tile that is never read, or a flip that zlib does not notice, cannot be told);
- IFD loops: a buggy or hostile writer; a reader that follows the chain never stops;
- dimension bombs, 1,000,000 px a side declared by a few KB: an overview would need terabytes.
  One has tile arrays that fit the size (so it opens, and must be refused by the declared
  size, at once); one keeps its short tile arrays (a damaged header);
- zero width, tile offsets past the end: headers that lie about the data;
- PNG, JPEG, zip and text files renamed .svs/.tiff: the commonest mistake, each with a hint;
- BigTIFF magic then garbage: a slide container with nothing inside;
- an mpp of 1e6 or 1e-5 in the resolution tags (1e-6 does not fit a TIFF rational): no
  microscope makes either;
- fluorescence (blue nuclei on black), greyscale, and a slide 10x coarser than the model: they
  open, and only the engine can refuse them (the upload probe knows neither stain nor model);
- unicode file names, one valid (it must score) and one damaged.
"""
from __future__ import annotations

import io
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

DAMAGED = ("damaged or incomplete",)
NOT_TIFF = ("not a TIFF-family or DICOM slide",)  # the upload's refusal by magic bytes
WIDTH, LENGTH, TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS = 256, 257, 322, 323, 324
_FORMAT = {3: "<H", 4: "<I"}  # TIFF SHORT, LONG


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    name: str  # the family, short
    words: tuple[str, ...]  # the refusal contains each; () for a file that must score
    either: bool = False  # may also score
    upload: tuple[int, ...] = (422,)  # what PUT /v1/slides may answer
    upload_words: tuple[str, ...] | None = None  # its refusal's words there, if not `words`

    @property
    def must_score(self) -> bool:
        return not self.words

    @property
    def upload_refusal(self) -> tuple[str, ...]:
        return self.words if self.upload_words is None else self.upload_words


def valid_image(seed: int = 4) -> np.ndarray:
    return markers_image(600, 500, seed=seed, tissue_box=(32, 32, 570, 470))[0]


def _ifds(data: bytes) -> list[int]:
    """Offsets of the IFD chain of a little-endian classic TIFF, each visited once."""
    chain, offset = [], struct.unpack_from("<I", data, 4)[0]
    while offset and offset not in chain:
        chain.append(offset)
        offset = struct.unpack_from("<I", data, _next_field(data, offset))[0]
    return chain


def _next_field(data: bytes, ifd: int) -> int:
    """Where an IFD (entry count, 12-byte entries, next offset) keeps the next one's offset."""
    entries: int = struct.unpack_from("<H", data, ifd)[0]
    return ifd + 2 + 12 * entries


def patched(data: bytes, *patches: tuple[int, int, int]) -> bytes:
    """`data` with each (IFD number, tag, value) patch: every value of that SHORT or LONG tag."""
    out, chain = bytearray(data), _ifds(data)
    for index, tag, value in patches:
        for entry in range(chain[index] + 2, _next_field(data, chain[index]), 12):
            code, kind, count = struct.unpack_from("<HHI", data, entry)
            if code == tag:
                fmt = _FORMAT[kind]
                size = struct.calcsize(fmt)
                # Values that fit in 4 bytes sit in the entry, longer arrays where it points.
                at = entry + 8 if count * size <= 4 else struct.unpack_from("<I", data, entry + 8)[0]
                for i in range(count):
                    struct.pack_into(fmt, out, at + i * size, value)
                break
        else:
            raise KeyError(f"IFD {index} has no tag {tag}")
    return bytes(out)


def with_next(data: bytes, index: int, target: int) -> bytes:
    """`data` with IFD number `index` naming IFD number `target` as its next one."""
    out, chain = bytearray(data), _ifds(data)
    struct.pack_into("<I", out, _next_field(data, chain[index]), chain[target])
    return bytes(out)


def flipped(data: bytes, start: int, end: int, count: int, seed: int) -> bytes:
    out, rng = bytearray(data), random.Random(seed)
    for _ in range(count):
        out[rng.randrange(start, end)] ^= 0xFF
    return bytes(out)


def tiled_tiff(image: np.ndarray) -> bytes:
    """One tiled IFD (128 px tiles, zlib), no pyramid, no resolution tags."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, image, tile=(128, 128), photometric="rgb", compression="zlib")
    return buffer.getvalue()


def pyramid(folder: Path, image: np.ndarray, mpp: float) -> bytes:
    path = write_pyramid_tiff(folder / ".pyramid.tmp", image, mpp)
    data = path.read_bytes()
    path.unlink()
    return data


def picture(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def fluorescence_image() -> np.ndarray:
    """DAPI-like: blue nuclei on a black background."""
    image = np.zeros((500, 600, 3), np.uint8)
    image[40:460, 40:560] = (8, 10, 30)
    for y in range(56, 450, 24):
        image[y:y + 10, 56:550:3] = (30, 60, 220)
    return image


def write_corpus(folder: Path) -> list[CorpusFile]:
    """Write every family into `folder` (created); the files in a fixed order."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus: list[CorpusFile] = []

    def add(file_name: str, data: bytes, name: str, words: tuple[str, ...], either: bool = False,
            upload: tuple[int, ...] = (422,), upload_words: tuple[str, ...] | None = None) -> None:
        (folder / file_name).write_bytes(data)
        corpus.append(CorpusFile(folder / file_name, name, words, either, upload, upload_words))

    image = valid_image()
    good = pyramid(folder, image, 0.5)  # 3 levels: 600x500, 300x250, 150x125
    with tifffile.TiffFile(io.BytesIO(good)) as tif:
        offsets = tif.pages[0].dataoffsets
    single = tiled_tiff(image)  # 5 x 4 tiles
    glass = tiled_tiff(np.full((2048, 2048, 3), 230, np.uint8))  # 16 x 16 tiles
    grey = np.repeat(valid_image(5).mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)

    for share in (1, 10, 50, 90):
        add(f"cut{share}.tiff", good[: len(good) * share // 100], f"truncated at {share} %",
            DAMAGED)
    add("empty.svs", b"", "empty file", ("empty",), upload=(422,))
    add("ifd-past-end.tiff", good[:4] + struct.pack("<I", 0x7FFFFFF0) + good[8:],
        "first IFD offset past the end", DAMAGED)
    add("bad-magic.tiff", b"IX" + good[2:], "flipped magic byte", ("not a slide format",),
        upload=(415,), upload_words=NOT_TIFF)
    add("bitrot.tiff", flipped(good, min(offsets), max(offsets), count=40, seed=3),
        "byte flips in tile data", ("damaged",), either=True, upload=(201, 422))
    add("ifd-self-loop.tiff", with_next(good, 0, 0), "IFD pointing to itself", DAMAGED)
    add("ifd-loop.tiff", with_next(good, 2, 0), "last IFD pointing to the first", DAMAGED)
    add("bomb.tiff", patched(glass, (0, WIDTH, 1_000_000), (0, LENGTH, 1_000_000),
                             (0, TILE_WIDTH, 65520), (0, TILE_LENGTH, 65520)),
        "dimension bomb", ("1,000,000 x 1,000,000", "beyond"))
    add("bomb-short.tiff", patched(single, (0, WIDTH, 1_000_000), (0, LENGTH, 1_000_000)),
        "dimension bomb, short tile arrays", DAMAGED)
    add("zero-width.tiff", patched(single, (0, WIDTH, 0)), "zero width", ("damaged",))
    add("tiles-past-end.tiff", patched(good, *((i, TILE_OFFSETS, 0x7FFFFF00) for i in range(3))),
        "tile offsets past the end", ("damaged",))
    add("photo.svs", picture(image, "PNG"), "renamed PNG", ("PNG", "tps detect"), upload=(415,))
    add("photo.tiff", picture(image, "JPEG"), "renamed JPEG", ("JPEG", "tps detect"),
        upload=(415,))
    add("archive.svs", zipped("slide.svs", good), "renamed zip", ("zip", "unzip"), upload=(415,))
    add("notes.tiff", b"Case 7, block A2: PD-L1 22C3 on the slide attached.\n" * 4,
        "renamed text", ("not a slide format",), upload=(415,), upload_words=NOT_TIFF)
    add("bigtiff-garbage.tiff", b"II+\x00" + random.Random(7).randbytes(4096),
        "BigTIFF magic then garbage", DAMAGED)
    add("mpp-huge.tiff", pyramid(folder, image, 1e6), "mpp 1e6", ("1e+06", "um/px"))
    add("mpp-tiny.tiff", pyramid(folder, image, 1e-5), "mpp 1e-5", ("1e-05", "um/px"))
    add("fluorescence.tiff", pyramid(folder, fluorescence_image(), 0.5), "fluorescence",
        ("fluorescence",), upload=(201,))
    add("greyscale.tiff", pyramid(folder, grey, 0.5), "greyscale", ("no colour",),
        upload=(201,))
    add("coarse.tiff", pyramid(folder, image, 5.0), "10x coarser than the model",
        ("5 um/px", "coarser"), upload=(201,))
    add("Präparat 東京 ü.tiff", pyramid(folder, valid_image(6), 0.5), "unicode name, valid", (),
        upload=(201,))
    add("Präparat 東京 kaputt.svs", good[: len(good) // 2], "unicode name, damaged", DAMAGED)
    return corpus
