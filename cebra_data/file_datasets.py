"""Datasets whose neural data stay in a file: HDF5 recordings larger than memory (layer L3).

:class:`HDF5Dataset` reads one HDF5 dataset as the neural signal, in one of three ways:

* **memory-mapped**: a contiguous, uncompressed float32 dataset (also one stored in one
  external raw file) is mapped like ``np.load(path, mmap_mode="r")`` (see
  :class:`cebra_data.TensorDataset`): windows are gathered at memory speed from the page cache;
* **resident**: any other layout (chunked, compressed, another dtype) whose float32 signal fits
  in ``chunk_cache_bytes`` is decompressed once, when the dataset is built (the pass that
  checks the values), and kept in memory: windows are gathered at memory speed;
* **streamed**: a larger signal is read per batch. A compressed one is read in *blocks*, the
  bands of whole chunks along time that the batch's windows touch, each read (decompressed)
  once per batch and kept in a least-recently-used cache of ``chunk_cache_bytes``; an
  uncompressed one with one sorted read of the rows of the batch's windows.

Random windows of a compressed dataset decompress about one block each, so streaming a
compressed signal larger than the cache is far slower than memory. The dataset then warns
once, at construction (:class:`~cebra_data.errors.SlowLayoutWarning`), with the estimated
cost per batch and the fix: ``cebra-data rechunk`` (:func:`cebra_data.rechunk`) rewrites the
signal contiguous, after which it is memory-mapped.

Whatever the layout, the dataset samples exactly like a :class:`~cebra_data.TensorDataset`
of the same arrays, labels and seed: same indices, same values.
"""

from __future__ import annotations

import collections
import math
import os
import time
import warnings
from typing import Any, List, Optional, Tuple, Union

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
from cebra_data.errors import (
    DataFileNotFoundError,
    FileChangedError,
    MissingKeyError,
    SlowLayoutWarning,
    UnsupportedCombinationError,
)
from cebra_data.file_backed import FileSignature, gather_windows, map_file
from cebra_data.io.hdf5 import external_file_prefix
from cebra_data.neurons import check_neuron_meta

__all__ = ["HDF5Dataset", "FileChangedError", "CHUNK_CACHE_BYTES"]

#: Default memory for the decompressed signal of a chunked dataset, per process: a signal whose
#: float32 values fit is kept whole (resident); a larger one is cached block by block.
CHUNK_CACHE_BYTES = 128 * 2**20

#: Rows read per block when a dataset is validated (rounded to whole bands of chunks).
_CHECK_ROWS = 2**16

#: The reference batch of the slow-layout estimate: CEBRA's default of 512 references,
#: positives and negatives.
_ESTIMATE_WINDOWS = 3 * 512

#: Warn when streaming is estimated slower than this fraction of the in-memory rate.
_SLOW_FRACTION = 0.5


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


def _external_files(node: h5py.Dataset, path: str) -> List[Tuple[str, int, int]]:
    """The external raw files of ``node`` as absolute paths, resolved as HDF5 resolves them.

    Raises:
        cebra_data.errors.DataFileNotFoundError: if an external file does not exist.
    """
    prefix = external_file_prefix(node, path)
    files = []
    for name, offset, size in node.external:
        name = os.fsdecode(name)
        full = os.path.abspath(name if os.path.isabs(name) else os.path.join(prefix, name))
        if not os.path.isfile(full):
            raise DataFileNotFoundError(
                f"HDF5Dataset: {node.name!r} in {path!r} stores its values in the external file "
                f"{name!r}, which does not exist (looked for {full!r}). External files are found "
                "relative to the current directory unless HDF5_EXTFILE_PREFIX says otherwise."
            )
        files.append((full, int(offset), int(size)))
    return files


class _ChunkedRows:
    """The rows of an HDF5 dataset that cannot be memory-mapped, read on demand (one handle per process).

    Holds the whole float32 signal when it fits in ``cache_bytes`` (*resident*), else
    reads per batch: a compressed dataset in bands of whole chunks along time (*blocks*,
    kept in an LRU cache of ``cache_bytes``), an uncompressed one row run by row run.
    Every read first checks the file (and any external raw file) for changes. Pickles as
    a reference (file, dataset path, signatures); the receiving process opens its own
    handle, and re-reads a resident signal, on first use, as h5py handles survive
    neither ``fork`` nor pickling.
    """

    def __init__(self, signature: FileSignature, name: str, shape: Tuple[int, int], dtype: Any,
                 cache_bytes: int, *, block_rows: int = 0,
                 external: Optional[Tuple[FileSignature, int]] = None) -> None:
        self.signature, self.name, self.shape = signature, name, tuple(shape)
        self.dtype, self.cache_bytes = np.dtype(dtype), int(cache_bytes)
        self.block_rows = int(block_rows)  # 0: read row runs instead of blocks
        self.external = external  # (raw file, byte offset): the values, read without HDF5
        self.resident_size = self.shape[0] * self.shape[1] * 4 <= self.cache_bytes
        self._resident: Optional[torch.Tensor] = None
        self._blocks: "collections.OrderedDict[int, torch.Tensor]" = collections.OrderedDict()
        self._handle: Optional[h5py.File] = None
        self._node: Optional[h5py.Dataset] = None
        self._pid: Optional[int] = None

    def __reduce__(self) -> Any:
        return _ChunkedRows._reopen, (
            self.signature.path, self.signature.expected, self.name, self.shape, self.dtype.str,
            self.cache_bytes, self.block_rows,
            None if self.external is None else (self.external[0].path, self.external[0].expected,
                                                 self.external[1]),
        )

    @staticmethod
    def _reopen(path: str, expected: Any, name: str, shape: Any, dtype: str, cache: int,
                block_rows: int = 0, external: Any = None) -> "_ChunkedRows":
        raw = None if external is None else (FileSignature(external[0], external[1]), external[2])
        return _ChunkedRows(FileSignature(path, expected), name, shape, dtype, cache,
                            block_rows=block_rows, external=raw)

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

    @property
    def is_resident(self) -> bool:
        """``True`` if the whole float32 signal is (or will be, on first use) held in memory."""
        return self.resident_size

    def set_resident(self, values: Optional[torch.Tensor]) -> None:
        """Keep ``values``, the whole validated float32 signal, for a resident signal."""
        if self.resident_size:
            self._resident = values

    def _check(self) -> None:
        self.signature.check()
        if self.external is not None:
            self.external[0].check()

    def _dataset(self) -> h5py.Dataset:
        if self._handle is None or self._pid != os.getpid():
            # A handle inherited through fork must not be used: open one for this process.
            # No HDF5 chunk cache: blocks are whole bands of chunks, each read once per batch.
            self._handle = h5py.File(self.signature.path, "r", rdcc_nbytes=0)
            self._pid = os.getpid()
            self._blocks.clear()
            self._node = self._handle[self.name]
        return self._node

    def _raw(self) -> np.ndarray:
        """The external raw file's values, ``(N, D)`` (a read-only memory map; no HDF5 involved)."""
        if self._node is None or self._pid != os.getpid():
            signature, offset = self.external
            self._node = np.memmap(signature.path, dtype=self.dtype, mode="r", offset=offset,
                                   shape=self.shape)
            self._pid = os.getpid()
        return self._node

    def read(self, first: int, last: int) -> np.ndarray:
        """Rows ``first .. last - 1`` as a float32 array (converted by HDF5 while reading)."""
        if self.external is not None:
            return self._raw()[first:last].astype(np.float32)
        out = np.empty((last - first, self.shape[1]), dtype=np.float32)
        self._dataset().read_direct(out, np.s_[first:last])
        return out

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows ``rows`` (sorted, unique) as an array ``(len(rows), D)``, one read per run of rows."""
        self._check()
        if self.external is not None:
            return self._raw()[rows].astype(np.float32)
        dataset = self._dataset()
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        if len(rows) == 0:
            return out
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        firsts = np.concatenate([[0], breaks])
        lasts = np.concatenate([breaks, [len(rows)]])
        for first, last in zip(firsts.tolist(), lasts.tolist()):
            dataset.read_direct(out, np.s_[int(rows[first]) : int(rows[last - 1]) + 1], np.s_[first:last])
        return out

    def _load_resident(self) -> torch.Tensor:
        values = _resident_array(self.shape)
        step = _check_rows(self.block_rows)
        for first in range(0, self.shape[0], step):
            last = min(first + step, self.shape[0])
            values[first:last] = torch.from_numpy(self.read(first, last))
        return values

    def _block(self, block: int) -> torch.Tensor:
        """Block ``block`` (rows ``block * block_rows ..``), from the cache or read and cached."""
        cached = self._blocks.get(block)
        if cached is not None:
            self._blocks.move_to_end(block)
            return cached
        first = block * self.block_rows
        values = torch.from_numpy(self.read(first, min(first + self.block_rows, self.shape[0])))
        capacity = self.cache_bytes // max(1, self.block_rows * self.shape[1] * 4)
        if capacity > 0:
            while len(self._blocks) >= capacity:
                self._blocks.popitem(last=False)
            self._blocks[block] = values
        return values

    def _gather_blocks(self, rows: torch.Tensor) -> torch.Tensor:
        """``values[rows]`` reading each block the rows touch once."""
        blocks = torch.div(rows, self.block_rows, rounding_mode="floor")
        order = torch.argsort(blocks, stable=True)
        unique, counts = torch.unique_consecutive(blocks[order], return_counts=True)
        out = torch.empty((len(rows), self.shape[1]), dtype=torch.float32)
        position = 0
        for block, count in zip(unique.tolist(), counts.tolist()):
            where = order[position : position + count]
            position += count
            local = rows.index_select(0, where) - block * self.block_rows
            out.index_copy_(0, where, self._block(block).index_select(0, local))
        return out

    def windows(self, start: torch.Tensor, length: int) -> torch.Tensor:
        """Windows ``(len(start), D, length)`` starting at ``start``, as float32 (see :func:`gather_windows`)."""
        self._check()
        if self.resident_size:
            if self._resident is None:  # after unpickling: read again (a fork inherits it)
                self._resident = self._load_resident()
            return gather_windows(self._resident, start, length)
        rows = (start[:, None] + torch.arange(length)[None, :]).flatten()
        if self.block_rows:
            values = self._gather_blocks(rows)
        else:
            unique, inverse = torch.unique(rows, sorted=True, return_inverse=True)
            values = torch.from_numpy(self.read_rows(unique.numpy())).index_select(0, inverse)
        return values.view(len(start), length, self.shape[1]).transpose(1, 2)


def _layout(node: h5py.Dataset) -> str:
    """How ``node`` is stored, in words (for the slow-layout warning)."""
    parts = []
    if node.chunks is not None:
        codec = node.compression or ("filtered" if node.id.get_create_plist().get_nfilters() else "uncompressed")
        parts.append(f"in {codec} chunks of {node.chunks}")
    if node.external:
        parts.append(f"in {len(node.external)} external file(s)")
    if node.dtype != np.dtype(np.float32):
        parts.append(f"as {node.dtype} (converted to float32 per batch)")
    return ", ".join(parts) or "contiguous"


def _bytes(value: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def _memory_seconds(sample: np.ndarray, rows: int) -> float:
    """Seconds to gather ``rows`` random rows of memory, measured on ``sample`` (best of three)."""
    values = torch.from_numpy(np.ascontiguousarray(sample))
    if len(values) == 0:
        return float("nan")
    index = torch.randint(0, len(values), (rows,), generator=torch.Generator().manual_seed(0))
    best = math.inf
    for _ in range(3):
        begin = time.perf_counter()
        values.index_select(0, index)
        best = min(best, time.perf_counter() - begin)
    return best


def _stream_seconds(node: h5py.Dataset, rows: _ChunkedRows, seconds: float, length: int) -> float:
    """Estimated seconds to stream the windows of one reference batch (:data:`_ESTIMATE_WINDOWS`)."""
    n, d = rows.shape
    if rows.block_rows:
        blocks = math.ceil(n / rows.block_rows)
        block_bytes = rows.block_rows * d * 4
        draws = _ESTIMATE_WINDOWS * min(2.0, 1.0 + (length - 1) / rows.block_rows)
        distinct = blocks * (1.0 - (1.0 - 1.0 / blocks) ** draws)
        cached = min(1.0, (rows.cache_bytes // block_bytes) / blocks)
        return distinct * (1.0 - cached) * block_bytes * seconds / (n * d * 4)
    # uncompressed: one read per window; time a few reads of random windows
    generator = torch.Generator().manual_seed(0)
    starts = torch.randint(0, max(1, n - length + 1), (16,), generator=generator).tolist()
    out = np.empty((length, d), dtype=np.float32)
    begin = time.perf_counter()
    for start in starts:
        last = min(n, start + length)
        if rows.external is not None:
            rows.read(start, last)
        else:
            node.read_direct(out, np.s_[start:last], np.s_[: last - start])
    return (time.perf_counter() - begin) / len(starts) * _ESTIMATE_WINDOWS


def _warn_if_slow(node: h5py.Dataset, rows: _ChunkedRows, seconds: float, sample: np.ndarray,
                  length: int) -> None:
    """Warn once if streaming ``node`` is estimated below half the in-memory rate."""
    length = max(1, length)
    memory = _memory_seconds(sample, _ESTIMATE_WINDOWS * length)
    stream = _stream_seconds(node, rows, seconds, length)
    if not stream > memory / _SLOW_FRACTION:
        return
    size = rows.shape[0] * rows.shape[1] * 4
    path = rows.signature.path
    dtype_fix = "" if node.dtype == np.dtype(np.float32) else " --dtype float32"
    warnings.warn(
        f"HDF5Dataset: {node.name!r} in {path!r} is stored {_layout(node)}, and its "
        f"{_bytes(size)} of float32 values do not fit in chunk_cache_bytes={rows.cache_bytes}, "
        f"so it is read per batch: about {stream * 1e3:.0f} ms per batch of 512 "
        f"(3 x 512 windows of {length} steps, estimated), {stream / memory:.0f}x the "
        f"{memory * 1e3:.1f} ms of the same batch in memory. To sample at memory speed, convert "
        f"the file once: `cebra-data rechunk {path} OUT.h5 --dataset {node.name}{dtype_fix}` "
        f"writes the signal contiguous and uncompressed ({_bytes(size)} on disk), which "
        f"HDF5Dataset memory-maps; or pass chunk_cache_bytes={size} to read it once into "
        "memory. Silence this warning with warnings.filterwarnings('ignore', "
        "category=cebra_data.errors.SlowLayoutWarning).",
        SlowLayoutWarning,
        stacklevel=4,
    )


def _resident_array(shape: Tuple[int, int]) -> torch.Tensor:
    """An uninitialised float32 tensor for a resident signal.

    Allocated by numpy, which asks Linux for transparent huge pages on large arrays: random
    windows then cost fewer TLB misses (measured on a 100 MB signal: 0.73x the rate of a
    numpy-loaded array with torch's allocation, 0.8-0.9x with numpy's).
    """
    return torch.from_numpy(np.empty(shape, dtype=np.float32))


def _check_rows(block_rows: int) -> int:
    """Rows per validation read: about :data:`_CHECK_ROWS`, in whole blocks when there are blocks."""
    if block_rows <= 0:
        return _CHECK_ROWS
    return max(1, _CHECK_ROWS // block_rows) * block_rows


def _read_label(handle: h5py.File, value: Any, what: str) -> Any:
    """A label array given directly, or read from the dataset path ``value`` of the file."""
    if isinstance(value, str):
        return _get_dataset(handle, value, what)[()]
    return value


class HDF5Dataset(TensorDataset):
    """A single session whose neural signal is one dataset of an HDF5 file, read from the file.

    How the signal is read depends on its layout (see :mod:`cebra_data.file_datasets`): a
    contiguous float32 dataset is memory-mapped (copy-on-write: the file is never modified;
    one stored in a single external raw file too); any other layout is *resident* (read once
    at construction and kept in memory) when its float32 values fit in ``chunk_cache_bytes``,
    else streamed per batch -- a compressed one in bands of whole chunks, each read once per
    batch and cached, an uncompressed one row run by row run. Streaming a compressed signal
    is much slower than memory: the dataset then warns once
    (:class:`~cebra_data.errors.SlowLayoutWarning`) with the estimated cost and the fix,
    ``cebra-data rechunk`` (:func:`cebra_data.rechunk`). Labels are read into memory.
    Batches, their values and the sampling are those of ``TensorDataset(neural_array, ...)``
    with the same labels and seed. ``.to(device)`` moves the labels and each gathered batch,
    not the file; pickling (e.g. for spawned ``DataLoader`` workers) sends only the file's
    path, and every read first checks that the file -- and any external raw file holding the
    values -- is unchanged (:class:`~cebra_data.file_datasets.FileChangedError`).

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
        chunk_cache_bytes: memory for the decompressed signal of a dataset that is not
            memory-mapped, per process (default :data:`CHUNK_CACHE_BYTES`, 128 MiB): a signal
            whose float32 values fit is kept whole; a larger one is cached block by block.

    The neural values must be finite (they are checked once, block by block).
    Operations that need the whole signal in memory (normalisation, neuron
    selection, splits) are available for a memory-mapped dataset (their
    results are in memory), not for a chunked one.

    Warns:
        cebra_data.errors.SlowLayoutWarning: when the signal is streamed and a batch is
            estimated at less than half the in-memory rate. Silence it with
            ``warnings.filterwarnings("ignore", category=SlowLayoutWarning)``.

    Raises:
        cebra_data.errors.DataFileNotFoundError: if the file (or an external raw file of
            the signal) does not exist.
        cebra_data.errors.MissingKeyError: for a dataset path the file lacks (the
            message lists the datasets it has).
        cebra_data.errors.UnsupportedCombinationError: for a virtual dataset (its values
            live in other files; rechunk materialises it).
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
            mapped, rows = self._open_signal(node, signature, int(chunk_cache_bytes), as_offset(offset))
        if mapped is not None:
            super().__init__(mapped, continuous=continuous, discrete=discrete, offset=offset,
                             device=device, trial_ids=trial_ids, neuron_meta=neuron_meta)
            return
        super(TensorDataset, self).__init__(device=device)
        if continuous is None and discrete is None:
            raise ValueError(
                "HDF5Dataset needs at least one index: pass continuous and/or discrete (arrays or "
                "dataset paths in the file)."
            )
        continuous_t = check_continuous(continuous, dtype=torch.float32, finite_or_nan=True) if continuous is not None else None
        discrete_t = check_discrete(discrete) if discrete is not None else None
        n = check_consistent_length(neural=rows, continuous=continuous_t, discrete=discrete_t)
        self._setup(
            neural=rows, continuous=continuous_t, discrete=discrete_t,
            trial_ids=check_trial_ids(trial_ids, n) if trial_ids is not None else None,
            neural_missing=None, neuron_meta=check_neuron_meta(neuron_meta, rows.shape[1]),
            offset=as_offset(offset),
        )

    @classmethod
    def _open_signal(cls, node: h5py.Dataset, signature: FileSignature, cache_bytes: int,
                     offset: Any) -> Tuple[Optional[torch.Tensor], Optional[_ChunkedRows]]:
        """``(memory map, None)`` for a mappable signal, else ``(None, rows read from the file)``."""
        path = signature.path
        if node.is_virtual:
            raise UnsupportedCombinationError(
                f"HDF5Dataset: {node.name!r} in {path!r} is a virtual dataset: its values live in "
                "other files, whose changes a dataset cannot watch. Materialise it once with "
                f"`cebra-data rechunk {path} OUT.h5 --dataset {node.name}` (a real, contiguous copy), "
                "or load it into memory with TensorDataset(h5py.File(path)[name][:], ...)."
            )
        float32 = node.dtype == np.dtype(np.float32)
        external = _external_files(node, path) if node.external else []
        if node.ndim == 2 and float32 and node.chunks is None:
            needed = int(np.prod(node.shape)) * 4
            if not external and node.id.get_offset() is not None:
                return map_file(path, node.id.get_offset(), node.dtype, node.shape), None
            if len(external) == 1 and external[0][2] >= needed:
                return map_file(external[0][0], external[0][1], node.dtype, node.shape), None
        if len(external) > 1 or (external and external[0][2] < int(np.prod(node.shape)) * node.dtype.itemsize):
            raise UnsupportedCombinationError(
                f"HDF5Dataset: {node.name!r} in {path!r} stores its values in {len(external)} pieces "
                f"of external files ({', '.join(repr(e[0]) for e in external)}); only a dataset held "
                f"whole in one external file can be read and watched for changes. Write a real copy "
                f"once with `cebra-data rechunk {path} OUT.h5 --dataset {node.name}`."
            )
        if node.ndim != 2 or node.shape[0] == 0 or node.shape[1] == 0:
            check_neural(np.zeros(node.shape, dtype=np.float32))  # raises the usual shape message
        # Any filter (gzip, lzf, blosc, shuffle, ...) makes HDF5 process whole chunks.
        compressed = node.chunks is not None and node.id.get_create_plist().get_nfilters() > 0
        rows = _ChunkedRows(
            signature, node.name, node.shape, node.dtype, cache_bytes,
            block_rows=node.chunks[0] if compressed else 0,
            external=(FileSignature(external[0][0]), external[0][1]) if external else None,
        )
        seconds, sample = cls._validate(node, rows)
        if not rows.is_resident:
            _warn_if_slow(node, rows, seconds, sample, len(offset))
        return None, rows

    @staticmethod
    def _validate(node: h5py.Dataset, rows: _ChunkedRows) -> Tuple[float, np.ndarray]:
        """Check the values as :func:`check_neural` would, block by block, keeping them if resident.

        Returns the seconds the pass took and the last block read (for the speed estimate).
        """
        resident = _resident_array(node.shape) if rows.is_resident else None
        step = _check_rows(node.chunks[0] if node.chunks is not None else 0)
        block = np.empty((0, node.shape[1]), np.float32)
        begin = time.perf_counter()
        for first in range(0, node.shape[0], step):
            last = min(first + step, node.shape[0])
            try:
                values, _ = check_neural(node[first:last])
            except ValueError as error:
                raise ValueError(
                    f"{node.name!r}, rows {first} .. {last - 1} (time steps counted from row {first}): {error}"
                ) from None
            if resident is not None:
                resident[first:last] = values
            block = values.numpy()
        rows.set_resident(resident)
        return time.perf_counter() - begin, block

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
