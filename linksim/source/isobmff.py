"""Just enough ISO base media file format (ISO/IEC 14496-12) parsing to split a HEIF file.

Why: the BPG-equivalent codec sends only the HEVC slice data (the ``mdat``
contents) of a one-image HEIF file; the receiver puts it back into a template
file. That needs the ``mdat`` box and the one ``iloc`` extent length that
points into it, nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """One box: ``data[start:end]``, its payload from ``start + header``."""

    type: str
    start: int
    header: int
    end: int


def iter_boxes(data: bytes, start: int, end: int) -> list[Box]:
    """The consecutive boxes in ``data[start:end]`` (size 0 = to the end, size 1 = 64-bit size).

    Raises ValueError if a box overruns ``end``.
    """
    boxes = []
    pos = start
    while pos + 8 <= end:
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8].decode("latin-1")
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at byte {pos} has invalid size {size}")
        boxes.append(Box(kind, pos, header, pos + size))
        pos += size
    return boxes


def find_box(boxes: list[Box], kind: str) -> Box:
    """The single box of type ``kind`` among ``boxes``; ValueError if absent or repeated."""
    found = [b for b in boxes if b.type == kind]
    if len(found) != 1:
        raise ValueError(f"expected one {kind!r} box, found {len(found)}")
    return found[0]


def iloc_extent_length_field(data: bytes) -> tuple[int, int]:
    """Byte position and width of the extent length in a one-item, one-extent HEIF ``meta/iloc``.

    Parameters
    ----------
    data : bytes
        A HEIF file whose ``iloc`` describes exactly one item stored in one
        extent (a single image without alpha, thumbnails or metadata items).

    Returns
    -------
    (position, width) : tuple[int, int]
        ``data[position:position + width]`` is the big-endian extent length.
    """
    meta = find_box(iter_boxes(data, 0, len(data)), "meta")
    iloc = find_box(iter_boxes(data, meta.start + meta.header + 4, meta.end), "iloc")  # meta is a FullBox
    pos = iloc.start + iloc.header
    version = data[pos]
    pos += 4
    offset_size, length_size = data[pos] >> 4, data[pos] & 0x0F
    base_offset_size, index_size = data[pos + 1] >> 4, data[pos + 1] & 0x0F
    pos += 2
    id_width = 2 if version < 2 else 4
    item_count = int.from_bytes(data[pos : pos + id_width], "big")
    pos += id_width
    if item_count != 1:
        raise ValueError(f"iloc lists {item_count} items, expected 1")
    pos += id_width + (2 if version in (1, 2) else 0) + 2 + base_offset_size  # item_ID, method, data_ref, base
    extent_count = int.from_bytes(data[pos : pos + 2], "big")
    if extent_count != 1:
        raise ValueError(f"iloc item has {extent_count} extents, expected 1")
    pos += 2 + (index_size if version in (1, 2) else 0) + offset_size
    return pos, length_size
