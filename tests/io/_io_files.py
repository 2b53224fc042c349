"""Writers of small files in every supported format, for the io tests.

``write_sample(suffix, path)`` writes a file whose first numeric entry is ``SAMPLE_X`` and,
where the format holds several entries, a text entry before it and ``SAMPLE_Y`` after it.
"""

from __future__ import annotations

import pathlib
import pickle
from collections.abc import Callable

import h5py
import joblib
import numpy as np
import pandas as pd
import scipy.io
import torch

from _io_xls_writer import write_xls

SAMPLE_X = np.arange(24, dtype=np.float64).reshape(8, 3) / 4.0
SAMPLE_Y = np.arange(8, dtype=np.int64)
COLUMNS = ["a", "b", "c"]


def _npy(path: pathlib.Path) -> None:
    np.save(path, SAMPLE_X)


def _npz(path: pathlib.Path) -> None:
    np.savez(path, names=np.array(["a", "b"]), x=SAMPLE_X, y=SAMPLE_Y)


def _h5(path: pathlib.Path) -> None:
    with h5py.File(path, "w") as handle:
        handle["a_names"] = np.array([b"a", b"b"])
        handle["group/x"] = SAMPLE_X
        handle["y"] = SAMPLE_Y


def _torch(path: pathlib.Path) -> None:
    torch.save({"names": "abc", "x": torch.from_numpy(SAMPLE_X), "y": torch.from_numpy(SAMPLE_Y)},
               path)


def _csv(path: pathlib.Path) -> None:
    pd.DataFrame(SAMPLE_X, columns=COLUMNS).to_csv(path, index=False)


def _xls(path: pathlib.Path) -> None:
    write_xls(path, {
        "notes": [["comment"], ["made by a test"]],
        "x": [COLUMNS] + SAMPLE_X.tolist(),
        "y": [["y"]] + [[v] for v in SAMPLE_Y.tolist()],
    })


def _xlsx(path: pathlib.Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"comment": ["made by a test"]}).to_excel(writer, sheet_name="notes",
                                                               index=False)
        pd.DataFrame(SAMPLE_X, columns=COLUMNS).to_excel(writer, sheet_name="x", index=False)
        pd.DataFrame({"y": SAMPLE_Y}).to_excel(writer, sheet_name="y", index=False)


def _joblib(path: pathlib.Path) -> None:
    joblib.dump({"names": "abc", "x": SAMPLE_X, "y": SAMPLE_Y}, path)


def _pickle(path: pathlib.Path) -> None:
    with open(path, "wb") as handle:
        pickle.dump({"names": "abc", "x": SAMPLE_X, "y": SAMPLE_Y}, handle)


def _mat(path: pathlib.Path) -> None:
    scipy.io.savemat(path, {"names": "abc", "x": SAMPLE_X, "y": SAMPLE_Y})


def _nwb(path: pathlib.Path) -> None:
    # an NWB file's entries are its time series, named by path and sorted: x comes first
    import datetime

    import pynwb

    nwb = pynwb.NWBFile(session_description="io sample", identifier="sample",
                        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    nwb.add_acquisition(pynwb.TimeSeries(name="x", data=SAMPLE_X, unit="a.u.", rate=10.0))
    nwb.add_acquisition(pynwb.TimeSeries(name="y", data=SAMPLE_Y, unit="a.u.", rate=10.0))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


WRITERS: dict[str, Callable[[pathlib.Path], None]] = {
    ".npy": _npy, ".npz": _npz, ".h5": _h5, ".hdf": _h5, ".hdf5": _h5, ".h": _h5,
    ".pt": _torch, ".pth": _torch, ".csv": _csv, ".xls": _xls, ".xlsx": _xlsx,
    ".xlsm": _xlsx, ".jl": _joblib, ".pkl": _pickle, ".p": _pickle, ".mat": _mat, ".nwb": _nwb,
}

#: Suffixes whose files hold a second numeric entry named "y".
MULTI_ENTRY = {s for s in WRITERS if s not in (".npy", ".csv", ".nwb")}  # NWB names series by path


def write_sample(suffix: str, path: pathlib.Path) -> pathlib.Path:
    """Write the sample file for ``suffix`` at ``path`` and return ``path``."""
    WRITERS[suffix](path)
    return path


def expected_y(suffix: str) -> np.ndarray:
    """``SAMPLE_Y`` as the format returns it (MATLAB row vector, Excel column)."""
    if suffix == ".mat":
        return SAMPLE_Y[None, :]
    if suffix in (".xls", ".xlsx", ".xlsm"):
        return SAMPLE_Y[:, None]
    return SAMPLE_Y


def write_mat73(path: pathlib.Path, variables: dict[str, np.ndarray],
                struct: dict[str, np.ndarray] | None = None,
                text: dict[str, str] | None = None) -> pathlib.Path:
    """Write a MATLAB v7.3 file: HDF5 after a 512-byte MATLAB header, arrays column-major."""
    classes = {"f": "double", "i": "int64", "u": "uint8", "b": "logical"}
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, array in variables.items():
            stored = np.asarray(array.astype(np.uint8) if array.dtype == bool else array).T
            dataset = handle.create_dataset(name, data=stored)
            dataset.attrs["MATLAB_class"] = np.bytes_(classes[array.dtype.kind])
        for name, value in (text or {}).items():
            dataset = handle.create_dataset(
                name, data=np.frombuffer(value.encode("utf-16-le"), np.uint16)[:, None])
            dataset.attrs["MATLAB_class"] = np.bytes_("char")
        for field, array in (struct or {}).items():
            dataset = handle.create_dataset(f"s/{field}", data=array.T)
            dataset.attrs["MATLAB_class"] = np.bytes_("double")
        if struct:
            handle["s"].attrs["MATLAB_class"] = np.bytes_("struct")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: a test HDF5 schema 1.00 ."
    with open(path, "r+b") as handle:
        handle.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    return path
