"""Reader for MATLAB ``.mat`` files up to v7 (v4, v5, v6, v7), through :func:`scipy.io.loadmat`.

Version 7.3 files are HDF5 files and are read by :class:`cebra_data.io.hdf5.Mat73Reader`;
the two readers share the suffix and the file's first bytes decide. Entries are the
variables in file order (``__header__``-style metadata excluded). Scalar structs are
flattened into ``"struct/field"`` entries, as in v7.3 files. Arrays keep MATLAB's shape
(a row vector is ``(1, n)``), as with ``scipy.io.loadmat``'s defaults.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import math
import mmap
import os
import pathlib
import struct
import zlib
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
import scipy.io
import scipy.sparse
from scipy.io.matlab import MatlabOpaque

from cebra_data.errors import CorruptFileError
from cebra_data.io.hdf5 import densify_sparse, hdf5_signature_offset, matlab_object
from cebra_data.io.reader import Entry, Reader
from cebra_data.io.registry import register_reader

__all__ = ["MatReader"]


# MAT v5 data types (miINT8 ... miUTF32) and their item sizes; 8, 10, 11 are reserved.
_ITEM_SIZE = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MATRIX, _COMPRESSED = 14, 15
_NUMERIC_CLASSES = frozenset(range(6, 16))  # mxDOUBLE ... mxUINT64
_CHAR, _SPARSE, _CELL, _STRUCT, _OBJECT = 4, 5, 1, 2, 3
_FUNCTION_OR_OPAQUE = frozenset({16, 17})
_OPAQUE = 17  # mxOPAQUE: a MATLAB class object (table, string, datetime ...)
_INT32 = {5: "i", 6: "I"}  # miINT32 / miUINT32: flags, dimensions, field-name length
_TEXT = frozenset({1, 2, 16, 17, 18})  # miINT8, miUINT8, miUTF8/16/32: names


def _bad(message: str) -> CorruptFileError:
    return CorruptFileError(f"The MAT-file is corrupted: {message}.")


def _elements(data: memoryview, order: str) -> list[tuple[int, memoryview]]:
    """Split a stream of MAT v5 tagged elements into ``(type, body)`` pairs."""
    found = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 8:
            if bytes(data[pos:]).strip(b"\x00"):
                raise _bad("an element tag is cut short")
            break
        first, second = struct.unpack(order + "II", data[pos:pos + 8])
        if first >> 16:  # small data element: type and size packed in the first word
            kind, size = first & 0xFFFF, first >> 16
            if size > 4:
                raise _bad("a small data element claims more than 4 bytes")
            body, step = data[pos + 4:pos + 4 + size], 8
        else:
            kind, size = first, second
            if size > len(data) - pos - 8:
                raise _bad(f"an element claims {size} bytes but only {len(data) - pos - 8} remain")
            body = data[pos + 8:pos + 8 + size]
            step = 8 + size + (0 if kind == _COMPRESSED else -size % 8)
        if kind not in _ITEM_SIZE and kind not in (_MATRIX, _COMPRESSED):
            raise _bad(f"an element has the unknown data type {kind}")
        found.append((kind, body))
        pos += step
    return found


def _check_numeric(element: tuple[int, memoryview], count: Optional[int], what: str) -> None:
    kind, body = element
    if kind not in _ITEM_SIZE:
        raise _bad(f"the {what} of an array has the non-numeric data type {kind}")
    if count is not None and len(body) != count * _ITEM_SIZE[kind]:
        raise _bad(f"the {what} of an array holds {len(body) // _ITEM_SIZE[kind]} values, "
                   f"not {count}")


def _check_matrix(body: memoryview, order: str, depth: int) -> None:
    """Check one miMATRIX element against the layout its class requires.

    scipy's compiled reader trusts these layouts and can crash the interpreter on a
    corrupted file (seen with scipy 1.17: a complex flag without an imaginary part, or an
    unknown data type), so they are checked before scipy sees the file.
    """
    if depth > 32:
        raise _bad("arrays are nested too deeply")
    parts = _elements(body, order)
    if not parts:
        return  # an empty matrix element is MATLAB's empty placeholder in cells and structs
    if parts[0][0] in _INT32 and len(parts[0][1]) == 8 \
            and struct.unpack(order + "I", parts[0][1][:4])[0] & 0xFF == _OPAQUE:
        _check_opaque(parts, order, depth)
        return
    if len(parts) < 3 or parts[0][0] not in _INT32 or len(parts[0][1]) != 8 \
            or parts[1][0] not in _INT32 or len(parts[1][1]) < 8 or len(parts[1][1]) % 4 \
            or parts[2][0] not in _TEXT:
        raise _bad("an array header (flags, dimensions, name) is malformed")
    flags = struct.unpack(order + "I", parts[0][1][:4])[0]
    cls, is_complex = flags & 0xFF, bool(flags & 0x800)
    dims = struct.unpack(order + f"{len(parts[1][1]) // 4}{_INT32[parts[1][0]]}", parts[1][1])
    if any(d < 0 for d in dims):
        raise _bad("an array has a negative dimension")
    count = math.prod(dims)
    rest = parts[3:]
    if cls in _NUMERIC_CLASSES or cls == _CHAR:
        if len(rest) != 1 + is_complex:
            raise _bad("a numeric array lacks its real or imaginary part")
        for element, what in zip(rest, ("real part", "imaginary part")):
            _check_numeric(element, None if cls == _CHAR else count, what)
    elif cls == _SPARSE:
        if len(rest) != 3 + is_complex:
            raise _bad("a sparse array lacks some of its parts")
        for element in rest:
            _check_numeric(element, None, "data")
    elif cls in (_CELL, _STRUCT, _OBJECT):
        if cls == _OBJECT:
            if not rest or rest[0][0] not in _TEXT:
                raise _bad("an object has no class name")
            rest = rest[1:]
        per_item = 1
        if cls != _CELL:
            if len(rest) < 2 or rest[0][0] not in _INT32 or len(rest[0][1]) != 4 \
                    or rest[1][0] not in _TEXT:
                raise _bad("a struct lacks its field names")
            name_length = struct.unpack(order + _INT32[rest[0][0]], rest[0][1])[0]
            if name_length <= 0 or len(rest[1][1]) % name_length:
                raise _bad("a struct's field names are malformed")
            per_item = len(rest[1][1]) // name_length
            rest = rest[2:]
        if len(rest) != count * per_item or any(kind != _MATRIX for kind, _ in rest):
            raise _bad("a cell or struct array does not hold one array per element")
        for _, child in rest:
            _check_matrix(child, order, depth + 1)
    elif cls not in _FUNCTION_OR_OPAQUE:
        raise _bad(f"an array has the unknown class {cls}")


def _check_opaque(parts: list[tuple[int, memoryview]], order: str, depth: int) -> None:
    """Check a MATLAB class object (mxOPAQUE): flags, name, type, class name, then arrays.

    MATLAB writes its classes (``table``, ``string``, ``datetime`` ...) this way, as an
    opaque reference (type ``MCOS``) into the file's ``__function_workspace__``.
    """
    if len(parts) < 4 or any(kind not in _TEXT for kind, _ in parts[1:4]) \
            or any(kind != _MATRIX for kind, _ in parts[4:]):
        raise _bad("a MATLAB class object lacks its name, type or class name")
    for _, child in parts[4:]:
        _check_matrix(child, order, depth + 1)


def _variable_name(body: memoryview, order: str) -> tuple[str, Optional[str]]:
    """``(name, class of a MATLAB object or None)`` of a checked top-level variable."""
    parts = _elements(body, order)
    if not parts:
        return "", None
    opaque = struct.unpack(order + "I", parts[0][1][:4])[0] & 0xFF == _OPAQUE
    name = bytes(parts[1 if opaque else 2][1]).decode("utf-8", errors="replace")
    return name, bytes(parts[3][1]).decode("utf-8", errors="replace") if opaque else None


#: Decompressed bytes handed to one ``scipy.io.loadmat`` call (bounds the extra memory).
_GROUP_BYTES = 1 << 26


def _mat5_sources(path: pathlib.Path,
                  names: Optional[list[tuple[str, Optional[str]]]] = None) -> list[Any]:
    """Validate a v5-v7 MAT-file's variables; return what ``scipy.io.loadmat`` should read.

    v4 files have no tags and are left to scipy. The file is memory-mapped read-only and
    walked through zero-copy views: only the pages holding tags are read, and scipy then
    reads the file through the page cache. Compressed variables (MATLAB's default) must
    be inflated to be checked; they are inflated once, into memory the caller will own.
    A plain numeric one (real, not logical, stored in its class's own type, native byte
    order, at least one element) then becomes its array directly: a view of that memory,
    shaped as scipy shapes it (MATLAB's dimensions, column-major order). Any other is
    handed to scipy as an uncompressed in-memory MAT stream (several streams, each of
    about :data:`_GROUP_BYTES`, so the extra memory stays bounded) instead of the file.

    Args:
        path: The file.
        names: If given, ``(name, class of a MATLAB object or None)`` of every variable is
            appended to it, in file order (nothing for a v4 file).

    Returns:
        ``[path]``, or, in file order, in-memory MAT streams for ``scipy.io.loadmat`` and
        dicts of variables already read (name to array); updating one dict with each
        in turn gives the file's variables.

    Raises:
        CorruptFileError: a variable's layout is malformed (see :func:`_check_matrix`).
    """
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size < 128:
            return [path]
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    # The map is not closed explicitly: views of it may live on in an error's traceback;
    # it is unmapped when the last view is gone.
    data = memoryview(mapped)
    if bytes(data[126:128]) not in (b"IM", b"MI"):
        return [path]
    order = "<" if bytes(data[126:128]) == b"IM" else ">"
    variables = _check_variables(data, order)
    if names is not None:
        names.extend(_variable_name(body, order) for _, body in variables)
    if not any(compressed for compressed, _ in variables) \
            or not all(len(body) for _, body in variables):
        return [path]
    header, sources = bytes(data[:128]), []
    parts: list[Any] = []
    size = 0
    for compressed, body in variables:
        direct = _plain_numeric(body, order) if compressed else None
        if direct is not None:
            if parts:
                sources.append(_Concatenated([header, *parts]))
                parts, size = [], 0
            if not sources or not isinstance(sources[-1], dict):
                sources.append({})
            sources[-1][direct[0]] = direct[1]
            continue
        parts += [struct.pack(order + "II", _MATRIX, len(body)), body]
        size += len(body)
        if size >= _GROUP_BYTES:
            sources.append(_Concatenated([header, *parts]))
            parts, size = [], 0
    if parts:
        sources.append(_Concatenated([header, *parts]))
    return sources


#: MATLAB numeric classes and the MAT data type each is stored in without conversion.
_CLASS_STORAGE = {6: 9, 7: 7, 8: 1, 9: 2, 10: 3, 11: 4, 12: 5, 13: 6, 14: 12, 15: 13}
_STORAGE_DTYPE = {9: "f8", 7: "f4", 1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4",
                  12: "i8", 13: "u8"}


def _plain_numeric(body: memoryview, order: str) -> Optional[tuple[str, np.ndarray]]:
    """``(name, array)`` of a checked miMATRIX body scipy would read as a plain array.

    That is a real, non-logical numeric array with at least one element whose values are
    stored in its class's own data type, in a file of the machine's byte order, with an
    ASCII name; the array views ``body`` (no copy), with the dimensions, dtype and
    column-major layout ``scipy.io.loadmat`` gives it. Anything else gives ``None`` (scipy
    reads it).
    """
    if order != ("<" if np.little_endian else ">"):
        return None
    parts = _elements(body, order)
    flags = struct.unpack(order + "I", parts[0][1][:4])[0]
    cls = flags & 0xFF
    if flags & 0xA00 or len(parts) != 4 or parts[3][0] != _CLASS_STORAGE.get(cls):
        return None  # complex (0x800) or logical (0x200), or another layout or storage
    dims = struct.unpack(order + f"{len(parts[1][1]) // 4}{_INT32[parts[1][0]]}", parts[1][1])
    try:
        name = bytes(parts[2][1]).decode("ascii")
    except UnicodeDecodeError:
        return None
    if not name or math.prod(dims) == 0:
        return None
    dtype = np.dtype(order + _STORAGE_DTYPE[parts[3][0]])
    values = np.frombuffer(parts[3][1], dtype=dtype)
    return name, values.reshape(dims, order="F")


class _Concatenated(io.RawIOBase):
    """A read-only binary stream over byte strings and views laid end to end, never joined.

    Args:
        parts: The stream's pieces, in order (``bytes`` or ``memoryview`` of bytes).
    """

    def __init__(self, parts: list[Any]) -> None:
        super().__init__()
        self._parts = [memoryview(part).cast("B") for part in parts]
        self._starts = [0]
        for part in self._parts:
            self._starts.append(self._starts[-1] + len(part))
        self._position = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (relative to ``whence``); return the new position."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._starts[-1]}
        self._position = max(0, base[whence] + offset)
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that remain when ``size`` is negative)."""
        end = self._starts[-1] if size is None or size < 0 \
            else min(self._starts[-1], self._position + size)
        pieces = []
        while self._position < end:
            index = bisect.bisect_right(self._starts, self._position) - 1
            start = self._position - self._starts[index]
            stop = min(len(self._parts[index]), start + end - self._position)
            pieces.append(self._parts[index][start:stop])
            self._position += stop - start
        return bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``; return the number of bytes read."""
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)


def _inflate_owned(body: memoryview, order: str) -> Any:
    """A compressed variable's bytes, inflated into a new writable array of their size.

    The stream is inflated in pieces straight into one ``uint8`` array of the size its
    tag announces, which can then back the variable's values without a copy. A stream
    that does not fill exactly that size, or does not end cleanly, goes through
    :func:`_inflate` instead (same bytes, same errors as before this shortcut).
    """
    try:
        head = zlib.decompressobj().decompress(body[:1 << 16], 8)
    except zlib.error:
        head = b""
    if len(head) < 8 or 8 + struct.unpack(order + "I", head[4:8])[0] > 1032 * len(body) + 64:
        return _inflate(body, order)
    total = 8 + struct.unpack(order + "I", head[4:8])[0]
    out = np.empty(total, dtype=np.uint8)
    target = memoryview(out)
    inflater, filled = zlib.decompressobj(), 0
    try:
        for start in range(0, len(body), 1 << 16):
            pending: Any = body[start:start + (1 << 16)]
            while pending:
                piece = inflater.decompress(pending, 1 << 20)
                if filled + len(piece) > total:
                    return _inflate(body, order)
                target[filled:filled + len(piece)] = piece
                filled += len(piece)
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        return _inflate(body, order)
    if not inflater.eof or filled != total:
        return _inflate(body, order)
    return out


def _inflate(body: memoryview, order: str) -> bytes:
    """A compressed variable's bytes, inflated into one buffer of the size its tag announces.

    ``zlib.decompress`` with an exact ``bufsize`` fills one buffer (no growing and joining
    of blocks); a stream that does not end cleanly is inflated as far as it goes, and the
    element walk then reports what is missing.
    """
    try:
        head = zlib.decompressobj().decompress(body[:1 << 16], 8)
        announced = 8 + struct.unpack(order + "I", head[4:8])[0] if len(head) == 8 else 0
        # zlib expands at most about 1032-fold: a lying size cannot force a huge buffer
        bufsize = max(64, min(announced, 1032 * len(body) + 64))
        try:
            return zlib.decompress(body, zlib.MAX_WBITS, bufsize)
        except zlib.error:
            return zlib.decompressobj().decompress(body)
    except zlib.error as exc:
        raise _bad("a compressed variable does not decompress") from exc


def _check_variables(data: memoryview, order: str) -> list[tuple[bool, memoryview]]:
    """Check every top-level variable; return ``(was compressed, miMATRIX body)`` of each."""
    found = []
    for kind, body in _elements(data[128:], order):
        compressed = kind == _COMPRESSED
        if compressed:
            inner = _inflate_owned(body, order)
            variables = _elements(memoryview(inner).cast("B"), order)
            if len(variables) != 1:
                raise _bad("a compressed variable holds more than one element")
            kind, body = variables[0]
        if kind != _MATRIX:
            raise _bad(f"a top-level element has data type {kind} instead of a matrix")
        _check_matrix(body, order, 0)
        found.append((compressed, body))
    return found


def _flatten(name: str, value: Any, out: list[Entry]) -> None:
    if isinstance(value, MatlabOpaque):  # a structured array too: test it first
        out.append(_object_entry(name, _opaque_class(value)))
        return
    is_struct = isinstance(value, np.ndarray) and value.dtype.names is not None \
        and value.size == 1
    if is_struct:
        record = value.reshape(-1)[0]
        for field in value.dtype.names:
            _flatten(f"{name}/{field}", record[field], out)
    elif scipy.sparse.issparse(value):
        out.append(_sparse_entry(name, value))
    else:
        out.append(Entry(name, lambda value=value: value))


def _opaque_class(value: Any) -> str:
    """The class name scipy keeps for a MATLAB object (``"table"`` ...)."""
    try:
        raw = value.reshape(-1)[0]["s2"]
    except (IndexError, KeyError, ValueError, TypeError):
        return "unknown"
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def _object_entry(name: str, object_class: str) -> Entry:
    """A MATLAB class object: listed, never picked by default, explained when read."""
    return Entry(name, lambda: matlab_object(object_class),
                 dtype=f"MATLAB {object_class} object", numeric=False)


def _sparse_entry(name: str, matrix: Any) -> Entry:
    """A sparse variable, densified (with a memory check) when it is read."""
    shape = tuple(int(s) for s in matrix.shape)

    def read() -> np.ndarray:
        csc = matrix.tocsc()
        return densify_sparse(csc.data, csc.indices, csc.indptr, shape,
                              f"The MATLAB sparse matrix {name!r}")

    return Entry(name, read, shape=shape, dtype=str(matrix.dtype),
                 numeric=matrix.dtype.kind in "biufc")


class MatReader(Reader):
    """MATLAB v4-v7 ``.mat`` files via scipy (v7.3 is handled by the HDF5 reader)."""

    name = "matlab"
    suffixes = (".mat",)
    description = "MATLAB (v4-v7)"

    def can_read(self, head: bytes) -> bool:
        """Anything that is not HDF5-based (v5+ files start with a text header, v4 has none)."""
        return hdf5_signature_offset(head) < 0

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the variables with scipy and yield one entry per (flattened) variable."""
        variables: dict[str, Any] = {}
        names: list[tuple[str, Optional[str]]] = []
        for source in _mat5_sources(path, names):
            variables.update(source if isinstance(source, dict) else scipy.io.loadmat(source))
        if not names:  # v4: no objects; scipy's order is the file's
            names = [(name, None) for name in variables]
        entries: list[Entry] = []
        for name, object_class in names:
            if name.startswith("__") or not name:
                continue  # MATLAB's __function_workspace__ and other internals
            if object_class is not None:  # scipy cannot name these: it gives 'None'
                entries.append(_object_entry(name, object_class))
            elif name in variables:
                _flatten(name, variables[name], entries)
        yield entries


register_reader(MatReader())
