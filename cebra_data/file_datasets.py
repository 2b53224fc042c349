"""Datasets whose neural data stay in a file: HDF5 recordings larger than memory (layer L3).

:class:`HDF5Dataset` reads one HDF5 dataset as the neural signal. A contiguous,
uncompressed dataset is memory-mapped like ``np.load(path, mmap_mode="r")`` (see
:class:`cebra_data.TensorDataset`); a chunked or compressed one is read on demand,
each batch with one sorted read of the rows its windows need. Either way the
dataset samples exactly like a :class:`~cebra_data.TensorDataset` of the same
arrays, labels and seed.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

import h5py
import numpy as np
import torch

from cebra_data._validation import (
    check_consistent_length,
    check_continuous,
    check_discrete,
    check_neural,
    check_trial_ids,
)
from cebra_data.base import as_offset
from cebra_data.datasets import TensorDataset
from cebra_data.device import DeviceLike
from cebra_data.errors import DataFileNotFoundError, FileChangedError, MissingKeyError
from cebra_data.file_backed import FileSignature, map_file
from cebra_data.neurons import check_neuron_meta

__all__ = ["HDF5Dataset", "FileChangedError"]

#: Default size of the HDF5 chunk cache of a chunked neural dataset, per process.
CHUNK_CACHE_BYTES = 16 * 2**20

#: Rows read per block when a chunked dataset is validated.
_CHECK_ROWS = 2**16


def _list_datasets(handle: h5py.File) -> list:
    names: list = []
    handle.visititems(lambda name, node: names.append(name) if isinstance(node, h5py.Dataset) else None)
    return names


def _get_dataset(handle: h5py.File, name: str, what: str) -> h5py.Dataset:
    node = handle.get(name)
    if not isinstance(node, h5py.Dataset):
        found = ", ".join(repr(n) for n in _list_datasets(handle)) or "no datasets"
        kind = "is a group, not a dataset" if node is not None else "does not exist"
        raise MissingKeyError(
            f"{what}={name!r} {kind} in {handle.filename!r}; the file has: {found}."
        )
    return node


class _ChunkedRows:
    """The rows of a chunked or compressed HDF5 dataset, read on demand (one handle per process).

    Pickles as a reference (file, dataset path, signature); the receiving
    process opens its own handle on first use, as h5py handles survive neither
    ``fork`` nor pickling.
    """

    def __init__(self, signature: FileSignature, name: str, shape: Tuple[int, int], dtype: Any,
                 cache_bytes: int) -> None:
        self.signature, self.name, self.shape = signature, name, tuple(shape)
        self.dtype, self.cache_bytes = np.dtype(dtype), cache_bytes
        self._handle: Optional[h5py.File] = None
        self._pid: Optional[int] = None

    def __reduce__(self) -> Any:
        return _ChunkedRows._reopen, (self.signature.path, self.signature.expected, self.name,
                                      self.shape, self.dtype.str, self.cache_bytes)

    @staticmethod
    def _reopen(path: str, expected: Any, name: str, shape: Any, dtype: str, cache: int) -> "_ChunkedRows":
        return _ChunkedRows(FileSignature(path, expected), name, shape, dtype, cache)

    def __len__(self) -> int:
        return self.shape[0]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise TypeError(
            f"The neural data of this HDF5Dataset stay in a chunked/compressed file and are read "
            f"per batch, so neural.{name} is not available. Load them into memory with "
            "TensorDataset(h5py.File(path)[name][:], ...) for whole-array operations (normalisation, "
            "neuron selection, splits)."
        )

    def _dataset(self) -> h5py.Dataset:
        if self._handle is None or self._pid != os.getpid():
            # A handle inherited through fork must not be used: open one for this process.
            self._handle = h5py.File(self.signature.path, "r", rdcc_nbytes=self.cache_bytes)
            self._pid = os.getpid()
        return self._handle[self.name]

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows ``rows`` (sorted, unique) as an array ``(len(rows), D)``, one read per run of rows."""
        self.signature.check()
        dataset = self._dataset()
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        if len(rows) == 0:
            return out
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        firsts = np.concatenate([[0], breaks])
        lasts = np.concatenate([breaks, [len(rows)]])
        for first, last in zip(firsts.tolist(), lasts.tolist()):
            dataset.read_direct(out, np.s_[int(rows[first]) : int(rows[last - 1]) + 1], np.s_[first:last])
        return out

    def windows(self, start: torch.Tensor, length: int) -> torch.Tensor:
        """Windows ``(len(start), D, length)`` starting at ``start``, as float32."""
        rows = (start[:, None] + torch.arange(length)[None, :]).flatten()
        unique, inverse = torch.unique(rows, sorted=True, return_inverse=True)
        values = torch.from_numpy(self.read_rows(unique.numpy())).to(torch.float32)
        return values[inverse].view(len(start), length, -1).permute(0, 2, 1).contiguous()


def _read_label(handle: h5py.File, value: Any, what: str) -> Any:
    """A label array given directly, or read from the dataset path ``value`` of the file."""
    if isinstance(value, str):
        return _get_dataset(handle, value, what)[()]
    return value


class HDF5Dataset(TensorDataset):
    """A single session whose neural signal is one dataset of an HDF5 file, read from the file.

    The signal is never loaded into memory as a whole: a contiguous,
    uncompressed float32 dataset is memory-mapped (copy-on-write: the file is
    never modified); any other (chunked, compressed, or of another dtype,
    converted to float32 as it is read) is read per batch, with one sorted
    read of the unique rows of the batch's windows and an HDF5 chunk cache of
    ``chunk_cache_bytes``. Labels are read into memory. Batches, their values
    and the sampling are those of ``TensorDataset(neural_array, ...)`` with the
    same labels and seed. ``.to(device)`` moves the labels and each gathered
    batch, not the file; pickling (e.g. for spawned ``DataLoader`` workers)
    sends only the file's path, and every read first checks that the file is
    unchanged (:class:`~cebra_data.file_datasets.FileChangedError`).

    Args:
        path: the HDF5 file.
        neural: the path of the neural dataset in the file, ``(N, D)``.
        continuous: a continuous index: an array, or the path of a dataset of the file.
        discrete: a discrete index: an array, or the path of a dataset of the file.
        offset: the window, as in :class:`~cebra_data.TensorDataset`.
        device: the device of the labels and of gathered batches.
        trial_ids: per-sample trial ids (an array or a dataset path), as in
            :class:`~cebra_data.TensorDataset`.
        neuron_meta: per-neuron metadata, as in :class:`~cebra_data.TensorDataset`.
        chunk_cache_bytes: the HDF5 chunk cache of a chunked dataset, per process.

    The neural values must be finite (they are checked once, block by block).
    Operations that need the whole signal in memory (normalisation, neuron
    selection, splits) are available for a memory-mapped dataset (their
    results are in memory), not for a chunked one.

    Raises:
        cebra_data.errors.DataFileNotFoundError: if the file does not exist.
        cebra_data.errors.MissingKeyError: for a dataset path the file lacks (the
            message lists the datasets it has).
        ValueError, TypeError: from the validation of the arrays, as in
            :class:`~cebra_data.TensorDataset`.

    Example:
        >>> import h5py, numpy as np, torch
        >>> from cebra_data import HDF5Dataset, TensorDataset
        >>> neural = np.random.default_rng(0).normal(size=(200, 4)).astype("float32")
        >>> with h5py.File(tmp_path / "rec.h5", "w") as f:
        ...     _ = f.create_dataset("neural", data=neural, chunks=(50, 4), compression="gzip")
        ...     _ = f.create_dataset("position", data=np.linspace(0, 1, 200))
        >>> ds = HDF5Dataset(tmp_path / "rec.h5", neural="neural", continuous="position", offset=(2, 3))
        >>> ds
        HDF5Dataset(N=200, input_dimension=4, continuous_dim=1, chunked, Offset(left=2, right=3, length=5), device='cpu')
        >>> in_memory = TensorDataset(neural, continuous=np.linspace(0, 1, 200), offset=(2, 3))
        >>> torch.equal(ds[torch.tensor([3, 100, 197])], in_memory[torch.tensor([3, 100, 197])])
        True
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        neural: str,
        continuous: Any = None,
        discrete: Any = None,
        offset: Any = None,
        device: DeviceLike = "cpu",
        *,
        trial_ids: Any = None,
        neuron_meta: Any = None,
        chunk_cache_bytes: int = CHUNK_CACHE_BYTES,
    ) -> None:
        if not isinstance(neural, str):
            raise TypeError(
                f"neural should be the path of a dataset in the HDF5 file (e.g. 'neural'), but got "
                f"{type(neural).__name__}."
            )
        if not os.path.isfile(path):
            raise DataFileNotFoundError(f"HDF5Dataset: no such file: {os.fspath(path)!r}.")
        signature = FileSignature(path)
        with h5py.File(signature.path, "r") as handle:
            node = _get_dataset(handle, neural, "neural")
            continuous = _read_label(handle, continuous, "continuous")
            discrete = _read_label(handle, discrete, "discrete")
            trial_ids = _read_label(handle, trial_ids, "trial_ids")
            shape, dtype, location = node.shape, node.dtype, node.id.get_offset()
            contiguous = node.chunks is None and location is not None and dtype == np.dtype(np.float32)
            if not contiguous:
                self._check_chunked(node)
        if contiguous:
            super().__init__(map_file(signature.path, location, dtype, shape), continuous=continuous,
                             discrete=discrete, offset=offset, device=device, trial_ids=trial_ids,
                             neuron_meta=neuron_meta)
            return
        super(TensorDataset, self).__init__(device=device)
        if continuous is None and discrete is None:
            raise ValueError(
                "HDF5Dataset needs at least one index: pass continuous and/or discrete (arrays or "
                "dataset paths in the file)."
            )
        rows = _ChunkedRows(signature, neural, shape, dtype, int(chunk_cache_bytes))
        continuous_t = check_continuous(continuous, dtype=torch.float32, finite_or_nan=True) if continuous is not None else None
        discrete_t = check_discrete(discrete) if discrete is not None else None
        n = check_consistent_length(neural=rows, continuous=continuous_t, discrete=discrete_t)
        self._setup(
            neural=rows, continuous=continuous_t, discrete=discrete_t,
            trial_ids=check_trial_ids(trial_ids, n) if trial_ids is not None else None,
            neural_missing=None, neuron_meta=check_neuron_meta(neuron_meta, shape[1]),
            offset=as_offset(offset),
        )

    @staticmethod
    def _check_chunked(node: h5py.Dataset) -> None:
        """Validate a chunked dataset as :func:`check_neural` would, reading blocks of rows."""
        if node.ndim != 2 or node.shape[0] == 0 or node.shape[1] == 0:
            check_neural(np.zeros(node.shape, dtype=np.float32))  # raises the usual shape message
        for first in range(0, node.shape[0], _CHECK_ROWS):
            last = min(first + _CHECK_ROWS, node.shape[0])
            try:
                check_neural(node[first:last])
            except ValueError as error:
                raise ValueError(
                    f"{node.name!r}, rows {first} .. {last - 1} (time steps counted from row {first}): {error}"
                ) from None

    @property
    def is_chunked(self) -> bool:
        """``True`` if the signal is read per batch (a chunked, compressed or non-float32 dataset), not memory-mapped."""
        return isinstance(self.neural, _ChunkedRows)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        """Windows at ``index``: ``(len(index), input_dimension, len(offset))``, read from the file."""
        if not self.is_chunked:
            return super().__getitem__(index)
        start = self._window_start(index).cpu()
        return self.neural.windows(start, len(self.offset)).to(self.device)

    def __repr__(self) -> str:
        text = super().__repr__().replace("TensorDataset(", "HDF5Dataset(", 1)
        if self.is_chunked:
            text = text.replace(", Offset(", ", chunked, Offset(", 1)
        return text
