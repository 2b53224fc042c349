"""Dataset files: one file holding a whole single-session dataset.

A *dataset file* is any file :func:`~cebra_data.io.load_data` reads (``.npz``,
``.h5``, ``.mat``, a pickled ``dict``, ...) whose top-level entries are named
like the arguments of :class:`~cebra_data.TensorDataset`: ``neural``, and
``continuous`` and/or ``discrete``, optionally ``trial_ids``. Other entries
are ignored.
"""

from __future__ import annotations

import pathlib
from typing import Any, List, Union

from cebra_data.errors import MissingKeyError
from cebra_data.io.load import load_data, open_entries

__all__ = ["DATASET_ENTRIES", "dataset_entries", "load_dataset"]

#: Entry names of a dataset file, in the order of TensorDataset's arguments.
DATASET_ENTRIES = ("neural", "continuous", "discrete", "trial_ids")


def dataset_entries(file: Union[str, pathlib.Path], *, trusted: bool = False) -> List[str]:
    """The entries of ``file`` that a dataset file uses, in :data:`DATASET_ENTRIES` order.

    A file is a dataset file when the result holds ``"neural"`` and at least
    one of ``"continuous"`` and ``"discrete"``.
    """
    with open_entries(file, trusted=trusted) as (_, _, entries):
        names = {str(entry.name) for entry in entries}
    return [name for name in DATASET_ENTRIES if name in names]


def load_dataset(
    file: Union[str, pathlib.Path],
    *,
    offset: Any = None,
    device: str = "cpu",
    trusted: bool = False,
) -> "TensorDataset":  # noqa: F821  (imported lazily to keep io free of dataset imports)
    """Build a :class:`~cebra_data.TensorDataset` from a dataset file.

    Args:
        file: the file; see the module docstring for the entry names.
        offset: the dataset's offset (default ``Offset(0, 1)``).
        device: the device of the dataset's tensors.
        trusted: passed to :func:`~cebra_data.io.load_data`.

    Raises:
        MissingKeyError: if the file has no ``neural`` entry or neither a
            ``continuous`` nor a ``discrete`` one (the message lists what it has).
        ValueError, TypeError: from :class:`~cebra_data.TensorDataset`'s validation.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import load_dataset
        >>> np.savez(tmp_path / "session.npz", neural=np.zeros((50, 3)), discrete=np.arange(50) % 2)
        >>> load_dataset(tmp_path / "session.npz", offset=(2, 2))
        TensorDataset(N=50, input_dimension=3, discrete_labels=2, Offset(left=2, right=2, length=4), device='cpu')
    """
    from cebra_data.datasets import TensorDataset

    present = dataset_entries(file, trusted=trusted)
    if "neural" not in present or not {"continuous", "discrete"} & set(present):
        with open_entries(file, trusted=trusted) as (path, _, entries):
            names = [str(entry.name) for entry in entries]
        raise MissingKeyError(
            f"'{path}' is not a dataset file: it needs an entry 'neural' and an entry "
            f"'continuous' and/or 'discrete' (optionally 'trial_ids'), but has {names}."
        )
    arrays = {name: load_data(file, key=name, trusted=trusted) for name in present}
    return TensorDataset(
        arrays["neural"],
        continuous=arrays.get("continuous"),
        discrete=arrays.get("discrete"),
        offset=offset,
        device=device,
        trial_ids=arrays.get("trial_ids"),
    )
