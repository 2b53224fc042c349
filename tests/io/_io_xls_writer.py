"""A minimal BIFF8 ``.xls`` writer for tests (no xls writer is installed).

It writes one OLE2 compound file holding a ``Workbook`` stream with the records xlrd needs:
BOF, one XF, one BOUNDSHEET per sheet, EOF; each sheet has BOF, LABEL (text) and NUMBER
cells, EOF. The stream is padded to 4096 bytes so it lives in regular sectors.
"""

from __future__ import annotations

import pathlib
import struct
from collections.abc import Sequence
from typing import Union

Cell = Union[str, float, int]

_END, _FREE, _FAT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def _sheet_stream(rows: Sequence[Sequence[Cell]]) -> bytes:
    out = _bof(0x0010)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if isinstance(cell, str):
                text = cell.encode("latin-1")
                out += _record(0x0204, struct.pack("<HHHHB", r, c, 0, len(text), 0) + text)
            else:
                out += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(cell)))
    return out + _record(0x000A, b"")


def _workbook_stream(sheets: dict[str, Sequence[Sequence[Cell]]]) -> bytes:
    xf = _record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    bodies = [_sheet_stream(rows) for rows in sheets.values()]
    names = [n.encode("latin-1") for n in sheets]
    bound_sizes = [4 + 8 + len(n) for n in names]
    offset = len(_bof(0x0005)) + len(xf) + sum(bound_sizes) + 4
    globals_ = _bof(0x0005) + xf
    for name, body in zip(names, bodies):
        globals_ += _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
        offset += len(body)
    stream = globals_ + _record(0x000A, b"") + b"".join(bodies)
    size = max(4096, -(-len(stream) // 512) * 512)
    return stream.ljust(size, b"\x00")


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", _NOSTREAM, _NOSTREAM, child)
        + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
        + struct.pack("<IIH", start, size, 0).ljust(8 + 4, b"\x00")[:12]
    )[:128].ljust(128, b"\x00")


def write_xls(path: pathlib.Path, sheets: dict[str, Sequence[Sequence[Cell]]]) -> None:
    """Write ``sheets`` (name -> rows of cells) as a BIFF8 workbook."""
    stream = _workbook_stream(sheets)
    n = len(stream) // 512
    fat = [_FAT, _END] + [3 + i if i < n - 1 else _END for i in range(n)]
    fat += [_FREE] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108
    )
    directory = (
        _dir_entry("Root Entry", 5, 1, _END, 0)
        + _dir_entry("Workbook", 2, _NOSTREAM, 2, len(stream))
        + _dir_entry("", 0, _NOSTREAM, 0, 0) * 2
    )
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + stream)
