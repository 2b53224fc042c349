"""Dataset files: one file holding a whole single-session dataset.

A *dataset file* is any file :func:`~cebra_data.io.load_data` reads (``.npz``,
``.h5``, ``.mat``, a pickled ``dict``, ...) whose top-level entries are named
like the arguments of :class:`~cebra_data.TensorDataset`: ``neural``, and
``continuous`` and/or ``discrete``, optionally ``trial_ids``. Other entries
are ignored.

This module only reads files (it sits below the dataset classes):
:func:`read_dataset_file` returns the arrays and what the file holds.
:meth:`cebra_data.TensorDataset.from_file` builds the dataset from them.
"""

from __future__ import annotations

import pathlib
from typing import Any, Dict, List, Union

from cebra_data.errors import MissingKeyError
from cebra_data.io.load import entry_array
from cebra_data.io.reader import select_entry
from cebra_data.io.registry import open_entries

__all__ = [
    "DATASET_ENTRIES",
    "dataset_entries",
    "is_dataset_file",
    "read_dataset_file",
]

#: Entry names of a dataset file, in the order of TensorDataset's arguments.
DATASET_ENTRIES = ("neural", "continuous", "discrete", "trial_ids")

def dataset_entries(file: Union[str, pathlib.Path], *, trusted: bool = False) -> List[str]:
    """The entries of ``file`` that a dataset file uses, in :data:`DATASET_ENTRIES` order.

    Args:
        file: The file.
        trusted: As in :func:`~cebra_data.io.load_data`.

    Returns:
        The names among :data:`DATASET_ENTRIES` that the file has. A file is a dataset
        file when they include ``"neural"`` and at least one of ``"continuous"`` and
        ``"discrete"`` (see :func:`is_dataset_file`).

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.dataset_file import dataset_entries
        >>> np.savez(tmp_path / "s.npz", discrete=np.zeros(4), neural=np.zeros((4, 2)))
        >>> dataset_entries(tmp_path / "s.npz")
        ['neural', 'discrete']
    """
    with open_entries(file, trusted=trusted) as (_, _, entries):
        names = {str(entry.name) for entry in entries}
    return [name for name in DATASET_ENTRIES if name in names]


def is_dataset_file(file: Union[str, pathlib.Path], *, trusted: bool = False) -> bool:
    """Whether ``file`` has the entries of a dataset file (see the module docstring).

    Args:
        file: The file.
        trusted: As in :func:`~cebra_data.io.load_data`.

    Returns:
        ``True`` when the file has ``neural`` and ``continuous`` and/or ``discrete``.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.dataset_file import is_dataset_file
        >>> np.savez(tmp_path / "s.npz", neural=np.zeros((4, 2)))
        >>> is_dataset_file(tmp_path / "s.npz")
        False
    """
    present = dataset_entries(file, trusted=trusted)
    return "neural" in present and bool({"continuous", "discrete"} & set(present))


def read_dataset_file(file: Union[str, pathlib.Path], *, trusted: bool = False) -> Dict[str, Any]:
    """Read a dataset file into plain numpy arrays, opening the file once.

    Args:
        file: The file; see the module docstring for the entry names.
        trusted: As in :func:`~cebra_data.io.load_data`.

    Returns:
        A ``dict`` with

        * ``"path"``: the file as a :class:`pathlib.Path`;
        * ``"neural"``: the ``neural`` entry (a numeric :class:`numpy.ndarray`);
        * ``"continuous"``, ``"discrete"``, ``"trial_ids"``: those entries, ``None``
          where the file has none (at least one of the first two is there);
        * ``"entries"``: the names of all the file's entries, in the reader's order.

        The arrays are exactly what :func:`~cebra_data.io.load_data` returns for each
        key: their shapes and dtypes are not checked against each other here.

    Raises:
        MissingKeyError: the file has no ``neural`` entry or neither a ``continuous``
            nor a ``discrete`` one (the message lists what it has).
        DataFileNotFoundError, UnsupportedFileFormatError, CorruptFileError,
        NonNumericDataError, UnsafeFileError: see :func:`~cebra_data.io.load_data`.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import read_dataset_file
        >>> np.savez(tmp_path / "s.npz", neural=np.zeros((50, 3)), discrete=np.arange(50) % 2)
        >>> data = read_dataset_file(tmp_path / "s.npz")
        >>> data["neural"].shape, data["discrete"][:4], data["continuous"], data["entries"]
        ((50, 3), array([0, 1, 0, 1]), None, ['neural', 'discrete'])
    """
    with open_entries(file, trusted=trusted) as (path, _, entries):
        names = [str(entry.name) for entry in entries]
        present = [name for name in DATASET_ENTRIES if name in names]
        if "neural" not in present or not {"continuous", "discrete"} & set(present):
            raise MissingKeyError(
                f"'{path}' is not a dataset file: it needs an entry 'neural' and an entry "
                f"'continuous' and/or 'discrete' (optionally 'trial_ids'), but has {names}."
            )
        result: Dict[str, Any] = {"path": path}
        for name in DATASET_ENTRIES:
            result[name] = (
                entry_array(select_entry(entries, name, f"'{path}'"), None, path)
                if name in present else None
            )
        result["entries"] = names
    return result
