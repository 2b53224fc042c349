"""Readers for NumPy's ``.npy`` and ``.npz`` files.

Neither reader ever passes ``allow_pickle=True`` unless the caller says ``trusted=True``:
an object array in a ``.npy`` file is a pickle and could run code. Array headers are read
first, so a truncated file is reported as such before any data is allocated.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from cebra_data.errors import CorruptFileError, UnsafeFileError
from cebra_data.io.reader import Entry, Reader, is_numeric_dtype
from cebra_data.io.registry import register_reader

__all__ = ["NpyReader", "NpzReader"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


#: The header numpy writes for a plain dtype, e.g.
#: ``{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 10), }``, padded with spaces.
_PLAIN_HEADER = re.compile(
    r"\{'descr': '([<>|=][a-zA-Z]\d*)', 'fortran_order': (True|False), "
    r"'shape': \(((?:\d+, )*\d*|\d+,)\), \} *\n"
)


def _plain_header(handle: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype] | None:
    """The header of a plain-dtype ``.npy`` file as numpy writes it, read without ``ast``.

    numpy parses every header with ``ast.literal_eval`` (about 0.1 ms); this reads the
    common form with one regular expression and returns ``None`` for anything else (the
    stream is then back at its start, for numpy's parser and its checks).
    """
    prefix = handle.read(12)
    if len(prefix) < 10 or not prefix.startswith(_NPY_MAGIC) or prefix[6] not in (1, 2, 3) or prefix[7] != 0:
        handle.seek(0)
        return None
    if prefix[6] == 1:
        length, start = int.from_bytes(prefix[8:10], "little"), 10
    else:
        length, start = int.from_bytes(prefix[8:12], "little"), 12
    handle.seek(start)
    text = handle.read(length)
    match = _PLAIN_HEADER.fullmatch(text.decode("latin1")) if len(text) == length else None
    if match is None:
        handle.seek(0)
        return None
    descr, fortran, shape = match.groups()
    try:
        dtype = np.dtype(descr)
    except TypeError:
        handle.seek(0)
        return None
    return tuple(int(n) for n in shape.replace(",", " ").split()), fortran == "True", dtype


def _read_header(handle: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from an open ``.npy`` stream positioned at its start."""
    plain = _plain_header(handle)
    if plain is not None:
        return plain
    version = np.lib.format.read_magic(handle)
    name = getattr(handle, "name", "the file")
    if version in ((1, 0), (2, 0), (3, 0)):
        # Version 3.0 differs from 2.0 only in allowing utf-8 field names.
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(handle)
        if any(int(s) < 0 for s in shape):
            raise CorruptFileError(
                f"'{name}' is corrupted: its header announces the shape {tuple(shape)}, with a "
                "negative dimension."
            )
        return shape, fortran, dtype
    raise CorruptFileError(
        f"'{name}' is not a readable .npy file: its header announces format version {version}, "
        "but .npy files use versions 1.0, 2.0 or 3.0. The file is corrupted or not a NumPy file."
    )


def _unsafe_object_array(what: str) -> UnsafeFileError:
    return UnsafeFileError(
        f"{what} holds Python objects stored as a pickle (dtype=object); loading it could run "
        "code from the file, so numpy's allow_pickle stays off. If you trust the file, pass "
        "trusted=True."
    )


class NpyReader(Reader):
    """One array per ``.npy`` file; the entry is named after the file's stem."""

    name = "npy"
    suffixes = (".npy",)
    description = "NumPy .npy"

    def can_read(self, head: bytes) -> bool:
        """``.npy`` files start with ``\\x93NUMPY``."""
        return head.startswith(_NPY_MAGIC)

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield one entry; the header is validated against the file size first.

        The file is opened once: the data is read from the same handle, right after the
        header that was checked (``numpy.load`` would open and parse it again).
        """
        with open(path, "rb") as handle:
            shape, fortran, dtype = _read_header(handle)
            data_start = handle.tell()
            size = os.fstat(handle.fileno()).st_size
            count = math.prod(shape)
            if not dtype.hasobject:
                needed = data_start + count * dtype.itemsize
                if size < needed:
                    raise CorruptFileError(
                        f"'{path}' is truncated: its header announces an array of shape "
                        f"{shape} and dtype {dtype} ({needed} bytes) but the file has {size} "
                        "bytes."
                    )

            def read() -> np.ndarray:
                """The array; object arrays only when trusted."""
                if dtype.hasobject:
                    if not trusted:
                        raise _unsafe_object_array(f"'{path}'")
                    return np.load(path, allow_pickle=True)
                handle.seek(data_start)
                flat = np.fromfile(handle, dtype=dtype, count=count) if count and dtype.itemsize \
                    else np.empty(count, dtype=dtype)
                return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)

            yield [Entry(path.stem, read, shape=tuple(shape), dtype=str(dtype),
                         numeric=is_numeric_dtype(dtype))]


register_reader(NpyReader())


class NpzReader(Reader):
    """One entry per array in a ``.npz`` archive, in archive order, named as in ``np.savez``."""

    name = "npz"
    suffixes = (".npz",)
    description = "NumPy .npz (zip)"

    def can_read(self, head: bytes) -> bool:
        """``.npz`` files are zip archives."""
        return head.startswith(_ZIP_MAGICS)

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Yield one entry per member; each member's header is read without its data."""
        with zipfile.ZipFile(path) as archive:
            entries = []
            for info in archive.infolist():
                if info.is_dir():
                    continue
                entries.append(self._entry(archive, info, trusted))
            yield entries

    @staticmethod
    def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, trusted: bool) -> Entry:
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        with archive.open(info) as member:
            shape, fortran, dtype = _read_header(member)
            header_size = member.tell()
        if not dtype.hasobject:
            needed = header_size + math.prod(shape) * dtype.itemsize
            if info.file_size < needed:
                raise CorruptFileError(
                    f"Member {name!r} is truncated: its header announces shape {shape} and "
                    f"dtype {dtype} ({needed} bytes) but the member has {info.file_size} bytes."
                )

        def read() -> Any:
            """The member's array; object arrays only when trusted."""
            if dtype.hasobject and not trusted:
                raise _unsafe_object_array(f"Member {name!r}")
            with archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=trusted)

        return Entry(name, read, shape=tuple(shape), dtype=str(dtype),
                     numeric=is_numeric_dtype(dtype))


register_reader(NpzReader())
