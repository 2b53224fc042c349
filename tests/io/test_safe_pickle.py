"""No code from a data file runs unless trusted=True: pickle, joblib, torch, numpy."""

from __future__ import annotations

import collections
import io
import os
import pathlib
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from cebra_data import errors
from cebra_data.io import load_data
from cebra_data.io.safe_pickle import RestrictedUnpickler, restricted_loads


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _write(kind: str, path: pathlib.Path, obj: object) -> None:
    if kind.startswith("pickle"):
        with open(path, "wb") as handle:
            pickle.dump(obj, handle, protocol=int(kind[-1]))
    elif kind == "joblib":
        joblib.dump(obj, path)
    elif kind.startswith("joblib-"):
        joblib.dump(obj, path, compress=(kind.split("-")[1], 3))
    elif kind == "torch":
        torch.save(obj, path)
    else:
        raise ValueError(kind)


KINDS = {
    "pickle0": ".pkl", "pickle2": ".p", "pickle5": ".pkl", "joblib": ".jl",
    "joblib-zlib": ".jl", "joblib-gzip": ".jl", "joblib-bz2": ".jl", "joblib-xz": ".jl",
    "torch": ".pt",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_payload_is_refused_and_never_runs(kind: str, tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / f"evil{KINDS[kind]}"
    _write(kind, path, {"x": np.arange(3.0), "evil": Payload(marker)})
    with pytest.raises(errors.UnsafeFileError, match="trusted=True") as info:
        load_data(path)
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, ValueError)
    assert not marker.exists()
    # The same file with trusted=True runs the command: the refusal above is what protects.
    np.testing.assert_array_equal(load_data(path, key="x", trusted=True), np.arange(3.0))
    assert marker.exists()


def test_payload_inside_a_joblib_object_array(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "objects.jl"
    array = np.empty(1, dtype=object)
    array[0] = Payload(marker)
    joblib.dump({"x": np.arange(3.0), "o": array}, path)
    with pytest.raises(errors.UnsafeFileError, match="posix.system|os.system"):
        load_data(path)
    assert not marker.exists()


def test_message_names_the_refused_global(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "evil.pkl"
    _write("pickle5", path, Payload(tmp_path / "m"))
    with pytest.raises(errors.UnsafeFileError, match=r"(posix|os)\.system, which is not plain data"):
        load_data(path)


def test_persistent_ids_are_refused() -> None:
    buffer = io.BytesIO()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            return "outside" if isinstance(obj, str) else None

    Pickler(buffer).dump({"a": "text"})
    with pytest.raises(errors.UnsafeFileError, match="persistent"):
        RestrictedUnpickler(io.BytesIO(buffer.getvalue())).load()


def test_dotted_names_cannot_reach_attributes_of_allowed_modules() -> None:
    # protocol-4 GLOBAL with a dotted name would resolve numpy.ndarray.tofile otherwise
    data = b"\x80\x04\x8c\x05numpy\x8c\x0endarray.tofile\x93."
    with pytest.raises(errors.UnsafeFileError, match="numpy.ndarray.tofile"):
        restricted_loads(data)


PLAIN = {
    "array": np.arange(6.0).reshape(2, 3),
    "ints": np.arange(4, dtype=np.int16),
    "big_endian": np.arange(3, dtype=">f4"),
    "frame": pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]}, index=pd.Index(["r", "s"])),
    "series": pd.Series([1.0, 2.0], name="s"),
    "multi": pd.DataFrame(np.ones((2, 2)), columns=pd.MultiIndex.from_product([["u"], ["x", "y"]])),
    "dates": pd.DataFrame({"a": [1.0, 2.0]}, index=pd.date_range("2020", periods=2)),
    "nullable": pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}),
    "categorical": pd.Series(pd.Categorical(["a", "b"])),
    "ordered": collections.OrderedDict(a=np.ones(2)),
    "nested": {"inner": {"deep": np.zeros(2)}},
    "scalars": (1, 2.5, 1j, "s", b"b", None, True, {1, 2}, frozenset([3]), range(3), slice(1, 2)),
}


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_plain_data_round_trips(protocol: int, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "plain.pkl"
    with open(path, "wb") as handle:
        pickle.dump(PLAIN, handle, protocol=protocol)
    with open(path, "rb") as handle:
        loaded = RestrictedUnpickler(handle).load()
    assert loaded.keys() == PLAIN.keys()
    pd.testing.assert_frame_equal(loaded["frame"], PLAIN["frame"])
    pd.testing.assert_frame_equal(loaded["dates"], PLAIN["dates"])
    pd.testing.assert_frame_equal(loaded["nullable"], PLAIN["nullable"])
    pd.testing.assert_series_equal(loaded["categorical"], PLAIN["categorical"])
    assert loaded["scalars"] == PLAIN["scalars"]
    np.testing.assert_array_equal(load_data(path, key="nested/inner/deep"), np.zeros(2))
    np.testing.assert_array_equal(load_data(path, key="multi", columns=["u"]), np.ones((2, 2)))
    big = load_data(path, key="big_endian")
    np.testing.assert_array_equal(big, np.arange(3.0))


def test_plain_joblib_arrays_keep_dtype_order_and_memory_layout(tmp_path: pathlib.Path) -> None:
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    path = tmp_path / "plain.jl"
    joblib.dump({"f": fortran, "b": np.array([True, False]), "e": np.arange(3, dtype=">i4"),
                 "frame": PLAIN["frame"]}, path)
    np.testing.assert_array_equal(load_data(path, key="f"), fortran)
    assert load_data(path, key="b").dtype == bool
    loaded = load_data(path, key="e")
    assert loaded.dtype == np.dtype("int32") and loaded.dtype.isnative
    np.testing.assert_array_equal(load_data(path, key="frame"), [[1.0, 3.0], [2.0, 4.0]])


def test_torch_dict_with_numpy_arrays_loads_safely(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "mixed.pt"
    torch.save({"n": np.arange(3.0), "t": torch.arange(2)}, path)
    np.testing.assert_array_equal(load_data(path, key="n"), np.arange(3.0))
    np.testing.assert_array_equal(load_data(path, key="t"), [0, 1])


def test_truncated_joblib_array_is_reported(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cut.jl"
    joblib.dump({"x": np.arange(1000.0)}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(errors.CorruptFileError, match="truncated"):
        load_data(path)
