"""CEBRA 0.6.1's ``cebra.data.load`` module, over cebra_data's safe readers.

CEBRA's public names here are :func:`load` and :func:`read_hdf` (and ``load_deeplabcut``,
re-exported as CEBRA does). Both keep CEBRA's
signatures and return what CEBRA returns for the same files, but never run code stored in
a file: pickles, joblib and PyTorch files go through restricted loaders, object arrays are
refused, and pandas HDF5 objects are decoded with h5py instead of PyTables (which
unpickles their metadata). A file that would need that raises
:class:`~cebra_data.errors.UnsafeFileError`; :func:`cebra_data.io.load_data` with
``trusted=True`` reads it.

The exceptions keep CEBRA's types: an unknown suffix is an ``OSError``, an unknown key or
column an ``AttributeError`` (and a ``KeyError``), a missing dependency a
``ModuleNotFoundError``.
"""

from __future__ import annotations

import pathlib
from typing import Optional, Union

import numpy as np
import pandas as pd

from cebra_data.io import load_data, load_deeplabcut
from cebra_data.io.hdf5 import read_pandas_hdf

#: ``load_deeplabcut`` is re-exported here as in CEBRA (which imports it from its integrations).
__all__ = ["load", "read_hdf", "load_deeplabcut"]


def load(
    file: Union[str, pathlib.Path],
    key: Optional[Union[str, int]] = None,
    columns: Optional[list] = None,
) -> np.ndarray:
    """Load one numeric array from a data file (CEBRA's ``cebra.data.load.load``).

    This is :func:`cebra_data.io.load_data` with CEBRA's signature: the format comes from
    the suffix (``.npy .npz .h5 .hdf .hdf5 .h .pt .pth .csv .xls .xlsx .xlsm .jl .pkl .p
    .mat``), ``key`` picks an entry of a collection (the first array-like entry when
    ``None``) and ``columns`` picks DataFrame columns (bodyparts for DeepLabCut files).

    Args:
        file: The path of the file.
        key: The name or position of the entry to load.
        columns: The columns of a table to keep, in this order.

    Returns:
        A numeric numpy array.

    Raises:
        OSError: unsupported suffix (:class:`~cebra_data.errors.UnsupportedFileFormatError`)
            or no such file.
        AttributeError: unknown key or column (:class:`~cebra_data.errors.MissingKeyError`,
            :class:`~cebra_data.errors.MissingColumnError`).
        UnsafeFileError: the file can only be read by running code stored in it.

    Example:
        >>> import numpy as np
        >>> from cebra_data.load import load
        >>> np.savez(tmp_path / "data.npz", neural=np.zeros((100, 3)), trial=np.ones((100, 4)))
        >>> load(tmp_path / "data.npz", key="trial").shape
        (100, 4)
    """
    return load_data(file, key=key, columns=columns)


def read_hdf(
    filename: Union[str, pathlib.Path], key: Optional[str] = None, *, trusted: bool = False
) -> Union[pd.DataFrame, pd.Series]:
    """Read a pandas object from an HDF5 file (CEBRA's ``cebra.data.load.read_hdf``).

    CEBRA calls ``pandas.read_hdf(filename, key=key)``; this returns the same DataFrame
    (column labels, level names, dtypes and row labels) for numeric frames such as
    DeepLabCut's, decoded without PyTables (see :func:`cebra_data.io.hdf5.read_pandas_hdf`).
    The index ``freq`` of a date index is not restored.

    Args:
        filename: Path to the HDF5 file.
        key: The object's key; ``None`` takes the file's only pandas object.
        trusted: Let pandas/PyTables read frames not decoded here (text columns, other
            row-label kinds). Only for files you trust.

    Returns:
        The :class:`pandas.DataFrame` (or :class:`pandas.Series`) stored under ``key``.

    Raises:
        KeyError: no pandas object under ``key``.
        ValueError: ``key`` is ``None`` and the file holds several pandas objects or none.
        NonNumericDataError, UnsafeFileError: reading the object needs PyTables and
            ``trusted`` is False.

    Example:
        >>> import pandas as pd
        >>> from cebra_data.load import read_hdf
        >>> columns = pd.MultiIndex.from_product(
        ...     [["me"], ["nose"], ["x", "y"]], names=["scorer", "bodyparts", "coords"])
        >>> pd.DataFrame([[1.0, 2.0]], columns=columns).to_hdf(tmp_path / "pose.h5", key="df_with_missing")
        >>> read_hdf(tmp_path / "pose.h5", key="df_with_missing").columns.names
        FrozenList(['scorer', 'bodyparts', 'coords'])
    """
    return read_pandas_hdf(filename, key, trusted=trusted)
