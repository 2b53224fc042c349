"""Reader for MATLAB ``.mat`` files up to v7 (v4, v5, v6, v7), through :func:`scipy.io.loadmat`.

Version 7.3 files are HDF5 files and are read by :class:`cebra_data.io.hdf5.Mat73Reader`;
the two readers share the suffix and the file's first bytes decide. Entries are the
variables in file order (``__header__``-style metadata excluded). Scalar structs are
flattened into ``"struct/field"`` entries, as in v7.3 files. Arrays keep MATLAB's shape
(a row vector is ``(1, n)``), as with ``scipy.io.loadmat``'s defaults.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from cebra_data.io._entries import Entry
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.registry import Reader, register_reader

__all__ = ["MatReader"]


def _flatten(name: str, value: Any, out: list[Entry]) -> None:
    is_struct = isinstance(value, np.ndarray) and value.dtype.names is not None \
        and value.size == 1
    if is_struct:
        record = value.reshape(-1)[0]
        for field in value.dtype.names:
            _flatten(f"{name}/{field}", record[field], out)
    else:
        out.append(Entry(name, lambda value=value: value))


class MatReader(Reader):
    """MATLAB v4-v7 ``.mat`` files via scipy (v7.3 is handled by the HDF5 reader)."""

    name = "matlab"
    suffixes = (".mat",)
    description = "MATLAB (v4-v7)"

    def can_read(self, head: bytes) -> bool:
        """Anything that is not HDF5-based (v5+ files start with a text header, v4 has none)."""
        return hdf5_signature_offset(head) < 0

    @contextlib.contextmanager
    def open(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the variables with scipy and yield one entry per (flattened) variable."""
        import scipy.io

        variables = scipy.io.loadmat(path)
        entries: list[Entry] = []
        for name, value in variables.items():
            if name.startswith("__"):
                continue
            _flatten(name, value, entries)
        yield entries


register_reader(MatReader())
