"""Readers for HDF5 files (``.h5 .hdf .hdf5 .h``) and MATLAB v7.3 files, through h5py.

Entries are listed depth first; inside each group, members come in the file's own order
(alphabetical, unless the file was written with ``track_order=True``). A dataset is one
entry named by its path without the leading ``/`` (``"group/sub/data"``). A group written
by pandas (``DataFrame.to_hdf``, DeepLabCut files) is one entry named by the group's path;
it is decoded by :mod:`cebra_data.io._pandas_hdf` without PyTables. Layouts that decoder
does not handle are read with :func:`pandas.read_hdf` only when ``trusted=True``, because
PyTables unpickles metadata stored in the file.

MATLAB v7.3 files are HDF5 files with a 512-byte text header. Their arrays are stored in
column-major order and are transposed back to MATLAB's shape (the shape
:func:`scipy.io.loadmat` gives for older files); structs become groups, so a field is
addressed as ``"struct/field"`` in both versions. Character arrays, cell arrays and the
internal ``#refs#`` group are not numeric and are skipped by the default selection.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from cebra_data.errors import MissingDependencyError, UnsafeFileError
from cebra_data.io._entries import Entry, NonArray, is_numeric_dtype
from cebra_data.io._pandas_hdf import UnsupportedLayout, check_filters, decode_pandas_group, pandas_type
from cebra_data.io.registry import Reader, register_reader

__all__ = ["Hdf5Reader", "Mat73Reader", "HDF5_SIGNATURE", "hdf5_signature_offset"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def hdf5_signature_offset(head: bytes) -> int:
    """Offset of the HDF5 signature in ``head`` (0, 512, 1024 or 2048), or -1."""
    for offset in (0, 512, 1024, 2048):
        if head[offset:offset + len(HDF5_SIGNATURE)] == HDF5_SIGNATURE:
            return offset
    return -1


def _h5py() -> Any:
    import h5py

    return h5py


def _read_pandas(path: pathlib.Path, group: Any, trusted: bool) -> Any:
    try:
        return decode_pandas_group(group)
    except UnsupportedLayout as reason:
        if not trusted:
            raise UnsafeFileError(
                f"The pandas object {group.name!r} in '{path}' uses a layout ({reason}) that "
                "only pandas/PyTables can read, and PyTables unpickles metadata stored in the "
                "file (which can run code). If you trust the file, pass trusted=True."
            ) from None
    try:
        import pandas as pd
        import tables  # noqa: F401  (pandas needs it for HDF5)
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading the pandas object {group.name!r} in '{path}' needs PyTables: "
            "pip install tables"
        ) from exc
    return pd.read_hdf(path, key=group.name)


def _read_dataset(dataset: Any, matlab: bool) -> Any:
    try:
        check_filters(dataset)
    except UnsupportedLayout as reason:
        raise MissingDependencyError(
            f"Cannot read {reason}; install the filter plugins with: pip install hdf5plugin "
            "(and import hdf5plugin before loading)."
        ) from None
    if matlab and dataset.attrs.get("MATLAB_empty", 0):
        return np.empty((0,), dtype=np.float64)
    array = dataset[()]
    if isinstance(array, np.ndarray) and array.dtype.names == ("real", "imag"):
        array = array["real"] + 1j * array["imag"]
    if matlab:
        array = np.asarray(array).T
        matlab_class = dataset.attrs.get("MATLAB_class", b"")
        if matlab_class == b"logical":
            array = array.astype(bool)
        elif matlab_class == b"char":  # UTF-16 code units, one string per row
            array = np.array(["".join(map(chr, row)) for row in np.atleast_2d(array)])
        elif matlab_class == b"cell" or array.dtype.kind == "O":
            return NonArray("MATLAB cell array")
    return np.asarray(array)


def _dataset_entry(name: str, dataset: Any, matlab: bool) -> Entry:
    dtype = dataset.dtype
    shape = tuple(int(s) for s in dataset.shape) if dataset.shape is not None else ()
    numeric = (is_numeric_dtype(dtype) or dtype.names == ("real", "imag")) \
        and dataset.shape is not None
    if matlab:
        matlab_class = dataset.attrs.get("MATLAB_class", b"")
        if isinstance(matlab_class, bytes) and matlab_class in (b"char", b"cell", b"function_handle"):
            numeric = False
        shape = shape[::-1]
        if dataset.attrs.get("MATLAB_empty", 0):
            shape = (0,)
    return Entry(name, lambda: _read_dataset(dataset, matlab), shape=shape,
                 dtype=str(dtype) if numeric else f"{dtype} (not numeric)", numeric=numeric)


def _walk(group: Any, path: pathlib.Path, trusted: bool, matlab: bool, out: list[Entry]) -> None:
    """Append the entries below ``group`` depth first, members in the file's order."""
    h5py = _h5py()
    for member in group:
        link = group.get(member, getlink=True)
        if isinstance(link, h5py.ExternalLink) and not trusted:
            continue  # points into another file; never followed for untrusted files
        if matlab and member.startswith("#"):
            continue  # MATLAB's internal #refs# / #subsystem# groups
        node = group.get(member)
        if node is None:
            continue  # dangling soft link
        name = node.name.lstrip("/") if node.name else member
        if isinstance(node, h5py.Dataset):
            out.append(_dataset_entry(name, node, matlab))
        elif isinstance(node, h5py.Group):
            if pandas_type(node) is not None:
                out.append(Entry(name, lambda node=node: _read_pandas(path, node, trusted)))
            else:
                _walk(node, path, trusted, matlab, out)


class Hdf5Reader(Reader):
    """HDF5 datasets (nested paths), pandas HDF groups and DeepLabCut ``.h5`` files."""

    name = "hdf5"
    suffixes = (".h5", ".hdf", ".hdf5", ".h")
    description = "HDF5"
    matlab = False

    def can_read(self, head: bytes) -> bool:
        """HDF5 files carry the signature ``\\x89HDF\\r\\n\\x1a\\n`` at 0 or after a user block."""
        return hdf5_signature_offset(head) >= 0

    @contextlib.contextmanager
    def open(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Open the file read-only and yield its entries (depth first, file order)."""
        h5py = _h5py()
        with h5py.File(path, "r") as handle:
            entries: list[Entry] = []
            _walk(handle, path, trusted, self.matlab, entries)
            yield entries


register_reader(Hdf5Reader())


class Mat73Reader(Hdf5Reader):
    """MATLAB v7.3 ``.mat`` files (HDF5 with a 512-byte MATLAB header)."""

    name = "matlab-v7.3"
    suffixes = (".mat",)
    description = "MATLAB v7.3 (HDF5)"
    matlab = True

    def can_read(self, head: bytes) -> bool:
        """v7.3 files have the HDF5 signature right after MATLAB's 512-byte header."""
        return hdf5_signature_offset(head) >= 0


register_reader(Mat73Reader())
