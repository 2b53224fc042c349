"""Readers for pickle-based formats: ``.pkl .p`` (pickle), ``.jl`` (joblib), ``.pt .pth`` (PyTorch).

By default none of them runs code from the file:

* pickle and joblib files go through :mod:`cebra_data.io.safe_pickle`, which rebuilds
  only plain data (numpy arrays, pandas objects, built-in containers and scalars);
* PyTorch files are loaded with ``torch.load(weights_only=True)`` (tensors, containers,
  and numpy arrays).

``trusted=True`` switches to the libraries' own unrestricted loaders.

Entries: a mapping (dict, ``OrderedDict``, ``state_dict``) gives one entry per value in
insertion order, nested mappings flattened into ``"outer/inner"``; any other object is one
entry named after the file's stem.
"""

from __future__ import annotations

import contextlib
import pathlib
import pickle
from collections.abc import Iterator
from typing import Any

import joblib
import numpy as np
import torch

from cebra_data.errors import CorruptFileError, UnsafeFileError
from cebra_data.io.reader import Entry, Reader, entries_from_object
from cebra_data.io.registry import register_reader
from cebra_data.io.safe_pickle import restricted_joblib_load, restricted_load

__all__ = ["JoblibReader", "PickleReader", "TorchReader"]

_PICKLE_PROTOCOL_2_PLUS = b"\x80"
_ZIP_MAGIC = b"PK\x03\x04"


def _load_guarded(load: Any, path: pathlib.Path) -> Any:
    try:
        return load()
    except RecursionError as exc:
        raise CorruptFileError(f"'{path}' is nested deeper than Python's recursion limit.") from exc


class PickleReader(Reader):
    """Python pickles, read with the restricted unpickler unless trusted."""

    name = "pickle"
    suffixes = (".pkl", ".p")
    description = "Python pickle"

    def can_read(self, head: bytes) -> bool:
        """Protocols 2-5 start with ``\\x80``; protocols 0-1 have no magic (text-like opcodes)."""
        return head.startswith(_PICKLE_PROTOCOL_2_PLUS) or head[:1] in b"(]}cdlN)IFSVX"

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Unpickle the file (restricted unless trusted) and yield its entries."""
        with open(path, "rb") as handle:
            load = (lambda: pickle.load(handle)) if trusted else (lambda: restricted_load(handle))
            obj = _load_guarded(load, path)
        yield entries_from_object(obj, path.stem)


register_reader(PickleReader())


class JoblibReader(Reader):
    """``joblib.dump`` files (plain or compressed), restricted unless trusted."""

    name = "joblib"
    suffixes = (".jl",)
    description = "joblib"

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the file (restricted unless trusted) and yield its entries."""
        if trusted:
            obj = _load_guarded(lambda: joblib.load(path), path)
        else:
            with open(path, "rb") as handle:
                obj = _load_guarded(lambda: restricted_joblib_load(handle), path)
        yield entries_from_object(obj, path.stem)


register_reader(JoblibReader())


def _numpy_safe_globals() -> list[Any]:
    """numpy callables a ``weights_only`` load may resolve to rebuild numpy arrays."""
    found: list[Any] = [np.ndarray, np.dtype]
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["_reconstruct"])
        except ImportError:
            continue
        found += [module._reconstruct, module.scalar]
        break
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return found


class TorchReader(Reader):
    """PyTorch ``torch.save`` files, loaded with ``weights_only=True`` unless trusted."""

    name = "torch"
    suffixes = (".pt", ".pth")
    description = "PyTorch"

    def can_read(self, head: bytes) -> bool:
        """Zip archives (torch >= 1.6) or legacy pickles."""
        return head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_PROTOCOL_2_PLUS)

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the file on the CPU and yield its entries."""
        if trusted:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        else:
            safe_globals = getattr(torch.serialization, "safe_globals", None)
            context = safe_globals(_numpy_safe_globals()) if safe_globals \
                else contextlib.nullcontext()
            try:
                with context:
                    obj = torch.load(path, map_location="cpu", weights_only=True)
            except pickle.UnpicklingError as exc:
                # torch names the refused global ("Unsupported global: GLOBAL os.system ...",
                # "Trying to load unsupported GLOBAL ... is blocked"); other failures are
                # corruption and are reported as such by the caller.
                if "global" in str(exc).lower():
                    raise UnsafeFileError(
                        f"'{path}' contains Python objects other than tensors, containers and "
                        "numpy arrays (e.g. a whole model); torch.load(weights_only=True) "
                        "refused them because they could run code. If you trust the file, "
                        "pass trusted=True."
                    ) from exc
                raise
        yield entries_from_object(obj, path.stem)


register_reader(TorchReader())
