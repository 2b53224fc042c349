"""What the underlying libraries return for a file's entries, and how our results are judged.

Shared by the corpus test and the fuzz test: :func:`ours` runs ``load_data`` for the
default entry and every key, :func:`reference` reads the same entries with the library
that ``load_data`` builds on (numpy, h5py, scipy, pandas, joblib, torch), and :func:`judge`
sorts each call into exact / documented error / refused readable / unverified / wrong /
bad error.
"""

from __future__ import annotations

import csv
import pathlib
import pickle
import warnings
from typing import Any, Optional

import h5py
import joblib
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse
import torch
from _isolated import describe_error

from cebra_data.io import load_data, open_entries
from cebra_data.io.reader import select_entry
from cebra_data.io.tabular import looks_like_header

MAX_KEYS = 40
_ENTRY_ERRORS = {"NonNumericDataError", "MissingKeyError", "MissingColumnError"}


# ----------------------------------------------------------------------------- our side


def ours(path: pathlib.Path) -> dict[str, Any]:
    """Keys, default key and the result of every call, computed in the child."""
    calls: list[tuple[Optional[str], Any]] = []
    keys: list[str] = []
    default = None
    try:
        with open_entries(path) as (_, _, entries):
            keys = [e.name for e in entries][:MAX_KEYS]
            try:
                default = select_entry(entries, None, "").name
            except Exception:
                default = None
    except Exception:
        pass
    for key in [None] + keys:
        try:
            calls.append((key, ("ok", load_data(path, key=key))))
        except Exception as exc:
            calls.append((key, ("raised", describe_error(exc))))
    return {"keys": keys, "default": default, "calls": calls}


# ----------------------------------------------------------------------------- library side


def _navigate(obj: Any, key: str) -> Any:
    """The value named ``key`` in a loaded object (nested mappings joined by ``/``)."""
    if not isinstance(obj, dict) and not hasattr(obj, "keys"):
        return obj
    if key in obj:
        return obj[key]
    head, _, rest = key.partition("/")
    return _navigate(obj[head], rest)


def _frame_values(frame: Any) -> Any:
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not all(pd.api.types.is_numeric_dtype(d) for d in frame.dtypes):
        return "non-numeric"
    return ("table", frame.to_numpy())


def _as_reference(value: Any) -> Any:
    """``("array", a)``, ``("table", a)`` (compare by value) or a reason it is not numeric."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy() if value.dtype != torch.bfloat16 \
            else value.float().numpy()
    if scipy.sparse.issparse(value):
        return ("array", value.toarray())
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return _frame_values(value)
    if isinstance(value, np.ndarray):
        if value.dtype.names == ("real", "imag"):
            value = value["real"] + 1j * value["imag"]
        if value.dtype.kind not in "biufc" or value.dtype.names is not None:
            return f"an array of dtype {value.dtype}"
        return ("array", np.asarray(value))
    if isinstance(value, (int, float, complex, np.generic)) and not isinstance(value, (str, bytes)):
        return ("array", np.asarray(value))
    return f"a {type(value).__name__}"


def _mat_struct_field(variables: dict, key: str) -> Any:
    head, *fields = key.split("/")
    value = variables[head]
    for field in fields:
        value = value.reshape(-1)[0][field]
    return value


def _csv_reference(path: pathlib.Path) -> Any:
    text = path.read_bytes()[: 1 << 16].decode("utf-8-sig", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()][:6]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = looks_like_header(rows[0], rows[1] if len(rows) > 1 else None)
    index = header and len(rows[0]) > 1 and not rows[0][0].strip()
    frame = pd.read_csv(path, sep=delimiter, header=0 if header else None,
                        index_col=0 if index else False)
    return _frame_values(frame)


def reference(path: pathlib.Path, keys: list[str]) -> dict[str, Any]:
    """What the underlying library returns for each key (computed in a child)."""
    suffix = path.suffix.lower()
    head = path.read_bytes()[:1024]
    out: dict[str, Any] = {}

    def each(get: Any) -> None:
        for key in keys:
            try:
                out[key] = _as_reference(get(key))
            except Exception as exc:
                out[key] = f"library failed: {type(exc).__name__}: {exc}"[:300]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if suffix == ".npy":
            each(lambda key: np.load(path, allow_pickle=False))
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                each(lambda key: archive[key])
        elif suffix == ".mat" and head[512:516] == b"\x89HDF" and head.startswith(b"MATLAB"):
            with h5py.File(path, "r") as handle:
                def get73(key: str) -> Any:
                    node = handle[key]
                    if not isinstance(node, h5py.Dataset):
                        return f"a MATLAB {node.attrs.get('MATLAB_class')} group"
                    kind = node.attrs.get("MATLAB_class", b"")
                    if kind not in (b"double", b"single", b"int8", b"uint8", b"int16",
                                    b"uint16", b"int32", b"uint32", b"int64", b"uint64",
                                    b"logical") or node.attrs.get("MATLAB_empty", 0):
                        return f"MATLAB class {kind!r}"
                    value = node[()]
                    if value.dtype.names == ("real", "imag"):
                        value = value["real"] + 1j * value["imag"]
                    value = np.asarray(value).T
                    return value.astype(bool) if kind == b"logical" else value
                each(get73)
        elif suffix in (".h5", ".hdf", ".hdf5", ".h") or head.startswith(b"\x89HDF"):
            with h5py.File(path, "r") as handle:
                def get5(key: str) -> Any:
                    node = handle[key]
                    if isinstance(node, h5py.Group):  # a pandas object
                        return pd.read_hdf(path, key=key)
                    return node[()]
                each(get5)
        elif suffix == ".mat":
            variables = scipy.io.loadmat(path)
            each(lambda key: _mat_struct_field(variables, key))
        elif suffix in (".pkl", ".p", ".jl"):
            try:
                obj = joblib.load(path)
            except ValueError:  # joblib refuses Python 2 pickles; pickle reads them
                with open(path, "rb") as handle:
                    obj = pickle.load(handle, encoding="latin1")
            each(lambda key: _navigate(obj, key) if isinstance(obj, dict) else obj)
        elif suffix in (".pt", ".pth"):
            obj = torch.load(path, map_location="cpu", weights_only=True)
            each(lambda key: _navigate(obj, key) if isinstance(obj, dict) else obj)
        elif suffix == ".csv":
            value = _csv_reference(path)
            for key in keys:
                out[key] = value
        elif suffix in (".xls", ".xlsx", ".xlsm"):
            each(lambda key: pd.read_excel(path, sheet_name=key))
    return out


# ----------------------------------------------------------------------------- judging


def _same(ours: np.ndarray, reference: tuple[str, np.ndarray]) -> bool:
    kind, expected = reference
    if ours.shape != expected.shape:
        return False
    if kind == "array" and ours.dtype != expected.dtype:
        return False
    if expected.dtype.kind not in "biufc":
        return False
    nan = expected.dtype.kind in "fc" or ours.dtype.kind in "fc"
    return bool(np.array_equal(ours, expected, equal_nan=nan))


def documented(error: dict[str, Any], path: pathlib.Path, key: Optional[str]) -> bool:
    if "cebra_data.errors.CebraDataError" not in error["mro"]:
        return False
    if path.name not in error["message"]:
        return False
    if key is not None and error["type"] in _ENTRY_ERRORS:
        return key.strip("/").split("/")[-1] in error["message"]
    return True


def judge(path: pathlib.Path, ours: dict[str, Any], reference: dict[str, Any]) -> list[tuple[str, str]]:
    """``(outcome, detail)`` per call."""
    results = []
    by_key = dict(ours["calls"])
    for key, (status, value) in ours["calls"]:
        target = ours["default"] if key is None else key
        expected = reference.get(target) if target is not None else None
        if status == "raised":
            outcome = "documented error" if documented(value, path, key) else "bad error"
            if outcome == "documented error" and isinstance(expected, tuple):
                outcome = "refused readable"  # documented, but the library reads it
            detail = f"{value['type']}: {value['message'][:200]}"
            if outcome == "bad error":
                detail += f"\n{value['where']}"
        elif not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
            outcome, detail = "wrong", f"returned {type(value).__name__}"
        elif key is None:
            default = by_key.get(ours["default"])
            same = default is not None and default[0] == "ok" and \
                np.array_equal(value, default[1], equal_nan=value.dtype.kind in "fc")
            outcome, detail = ("exact", "") if same else ("wrong", "default differs from its key")
        elif isinstance(expected, tuple):
            outcome = "exact" if _same(value, expected) else "wrong"
            detail = "" if outcome == "exact" else (
                f"ours {value.dtype}{value.shape} vs library "
                f"{expected[1].dtype}{expected[1].shape}")
        elif isinstance(expected, str) and expected.startswith("library failed"):
            outcome, detail = "unverified", expected
        else:
            outcome, detail = "wrong", f"returned an array where the library holds {expected}"
        results.append((outcome, f"{key!r}: {detail}"))
    return results
