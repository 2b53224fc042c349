"""Neural arrays that stay in their file: memory maps, file identity checks (layer L0).

A numpy memory map given to :class:`cebra_data.TensorDataset` (e.g.
``np.load(path, mmap_mode="r")``) is re-opened copy-on-write and kept
file-backed: windows are gathered from the map, nothing is copied into memory,
and no write reaches the file. :class:`FileSignature` notices a file that
changed or disappeared before a read could crash the process, and
:class:`FileBackedNeural` makes such datasets pickle as a file reference (for
spawned ``DataLoader`` workers) instead of by value.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Tuple

import numpy as np
import torch
from torch.utils.weak import WeakIdKeyDictionary

from cebra_data._validation import as_tensor
from cebra_data.errors import FileChangedError, PerformanceWarning

__all__ = [
    "FileSignature", "map_file", "reopen_memmap", "mapped_file_of", "gather_windows", "FileBackedNeural",
]


class FileSignature:
    """The identity of a file (inode, size, modification time), checked cheaply before every read.

    Reading a memory map of a file that was truncated underneath it kills the
    process (``SIGBUS``); a file rewritten in place gives silently mixed data.
    :meth:`check` turns both into a :class:`FileChangedError` first.

    Args:
        path: the file.
        expected: the signature the file must still have (``None``: take it now).

    Raises:
        FileNotFoundError: if the file does not exist (when ``expected`` is ``None``).
        FileChangedError: if the file differs from ``expected``.
    """

    def __init__(self, path: Any, expected: Optional[Tuple[int, int, int]] = None) -> None:
        self.path = os.path.abspath(os.fspath(path))
        if expected is None:
            if not os.path.isfile(self.path):
                raise FileNotFoundError(f"No such file: {self.path!r}.")
            expected = self._now()
        self.expected = tuple(expected)
        self.check()

    def _now(self) -> Tuple[int, int, int]:
        stat = os.stat(self.path)
        return stat.st_ino, stat.st_size, stat.st_mtime_ns

    def check(self) -> None:
        """Raise :class:`FileChangedError` unless the file is unchanged since it was opened."""
        try:
            now = self._now()
        except FileNotFoundError:
            raise FileChangedError(
                f"The file {self.path!r} behind this dataset disappeared; it must stay in place "
                "while the dataset is used. Re-create the dataset from the file's new location."
            ) from None
        if now != self.expected:
            what = "size" if now[1] != self.expected[1] else "time stamp or identity"
            raise FileChangedError(
                f"The file {self.path!r} behind this dataset changed underneath it (its {what} "
                f"differs: {self.expected[1]} bytes before, {now[1]} bytes now). A file-backed dataset "
                "reads the file on every batch, so the file must not be modified; re-create the "
                "dataset after changing the file."
            )


class _MappedFile:
    """Where a memory-mapped tensor's values live: path, byte offset, dtype, shape and signature."""

    def __init__(self, signature: FileSignature, offset: int, dtype: np.dtype, shape: Tuple[int, ...]):
        self.signature, self.offset, self.dtype, self.shape = signature, offset, dtype, shape

    def __reduce__(self) -> Any:
        # Unpickles as the *tensor*, re-mapped in the receiving process: the file is never copied.
        return _remap, (self.signature.path, self.offset, self.dtype.str, self.shape, self.signature.expected)


#: Every tensor that is a memory map of a file, and where its values live.
_MAPPED: WeakIdKeyDictionary = WeakIdKeyDictionary()


def map_file(path: Any, offset: int, dtype: Any, shape: Tuple[int, ...]) -> torch.Tensor:
    """A tensor viewing ``shape`` values of ``dtype`` at byte ``offset`` of ``path``, never copied into memory.

    The file is mapped copy-on-write (``np.memmap(mode="c")``): the file itself
    is never modified. The numpy view refuses writes; a torch tensor cannot
    be made read-only, so an in-place write into the tensor changes only this
    process's private copy of the touched pages (which then count as anonymous
    memory), never the file or another process's view.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is too short for ``shape``.
    """
    return _remap(path, offset, np.dtype(dtype).str, tuple(shape), None)


def _remap(path: Any, offset: int, dtype: str, shape: Tuple[int, ...], expected: Any) -> torch.Tensor:
    signature = FileSignature(path, expected)
    dtype_ = np.dtype(dtype)
    needed = offset + int(np.prod(shape)) * dtype_.itemsize
    if signature.expected[1] < needed:
        raise ValueError(
            f"The file {signature.path!r} has {signature.expected[1]} bytes, but an array of shape "
            f"{tuple(shape)} and dtype {dtype_} at byte {offset} needs {needed}."
        )
    array = np.memmap(signature.path, dtype=dtype_, mode="c", offset=offset, shape=tuple(shape))
    array.flags.writeable = False
    tensor = as_tensor(array, "neural")
    _MAPPED[tensor] = _MappedFile(signature, offset, dtype_, tuple(shape))
    return tensor


def reopen_memmap(neural: Any) -> Any:
    """Replace a numpy memory map by a protected re-mapping of its file; other values pass through.

    ``np.load(path, mmap_mode=...)`` and ``np.memmap`` arrays (also row
    ranges of them) are re-opened copy-on-write with :func:`map_file`, so the
    dataset reads the file and never changes it. A float32 map stays
    file-backed; other dtypes are converted in memory (with a warning).

    Raises:
        ValueError: for a memory map that is not C-contiguous (e.g. a column
            selection, or a Fortran-order file), which cannot be re-mapped.
    """
    if not isinstance(neural, np.memmap):
        return neural
    root = neural
    while isinstance(root.base, np.memmap):
        root = root.base
    if getattr(root, "filename", None) is None or root.offset is None:
        return np.asarray(neural)
    if not neural.flags.c_contiguous:
        raise ValueError(
            "neural is a memory map that is not C-contiguous (e.g. a column selection or a "
            "Fortran-order file), which cannot be read as windows of rows from the file. Pass a "
            "C-contiguous map (rows of the file), or np.ascontiguousarray(neural) to load it into memory."
        )
    if neural.dtype != np.float32:
        warnings.warn(
            f"neural is a memory map of dtype {neural.dtype}: converting it to float32 loads the whole "
            "array into memory. Store the file as float32 to keep it file-backed.",
            PerformanceWarning,
            stacklevel=3,
        )
    offset = int(root.offset) + (neural.ctypes.data - root.ctypes.data)
    return map_file(root.filename, offset, neural.dtype, neural.shape)


def mapped_file_of(tensor: Any) -> Optional[FileSignature]:
    """The :class:`FileSignature` of a tensor made by :func:`map_file`, else ``None`` (views too)."""
    if not isinstance(tensor, torch.Tensor):
        return None
    mapped = _MAPPED.get(tensor)
    return None if mapped is None else mapped.signature


_STEPS: dict = {}


def _steps(length: int, device: torch.device) -> torch.Tensor:
    """``torch.arange(length)`` on ``device``, made once (every batch needs it)."""
    key = (length, str(device))
    steps = _STEPS.get(key)
    if steps is None:
        steps = _STEPS[key] = torch.arange(length, device=device)
    return steps


def gather_windows(signal: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """The windows ``(len(start), D, length)`` of a ``(N, D)`` signal: ``out[i, :, j] = signal[start[i] + j]``.

    One pass over memory: a single ``index_select`` of the ``len(start) x length``
    rows, in row order (each row is ``D`` contiguous values), returned as a
    ``(batch, features, window)`` view of that gather -- the layout of
    ``cebra.data``'s windows (``neural[index].transpose(2, 1)``). Making the
    windows contiguous would cost a transposing copy that is slower than the
    gather itself; the models' first convolution takes either layout at the
    same cost (``benchmarks/bench_gather.py`` measures both). Call
    ``.contiguous()`` on a window batch where a contiguous tensor is needed.

    Args:
        signal: ``(N, D)`` tensor.
        start: 1-D ``torch.long`` tensor of first rows, each in ``[0, N - length]``
            (not checked here: the datasets check their indices).
        length: the window length.

    Example:
        >>> import torch
        >>> signal = torch.arange(12.0).view(6, 2)
        >>> gather_windows(signal, torch.tensor([0, 3]), 2)
        tensor([[[0., 2.],
                 [1., 3.]],
        <BLANKLINE>
                [[6., 8.],
                 [7., 9.]]])
    """
    rows = (start[:, None] + _steps(length, start.device)).view(-1)
    gathered = signal.index_select(0, rows)
    return gathered.view(len(start), length, signal.shape[1]).transpose(1, 2)


class FileBackedNeural:
    """Mixin for datasets whose ``neural`` may be a memory-mapped file (see :func:`map_file`).

    Such a ``neural`` stays on the CPU and in the file: ``.to(device)`` moves
    every other tensor and the gathered windows, pickling (e.g. for spawned
    ``DataLoader`` workers) sends the file reference and re-maps it, and
    every gather first checks that the file is unchanged.
    """

    neural: Any

    def _place_neural(self, neural: Any, device: str) -> Any:
        """``neural`` on ``device``; file-backed or non-tensor signals stay where they are."""
        if not isinstance(neural, torch.Tensor) or mapped_file_of(neural) is not None:
            return neural
        return neural.to(device)

    def _gather_windows(self, start: torch.Tensor, length: int) -> torch.Tensor:
        """:func:`gather_windows` of ``neural`` on the dataset's device, checking a backing file first."""
        signature = mapped_file_of(self.neural)
        if signature is None:
            return gather_windows(self.neural, start, length)
        signature.check()
        return gather_windows(self.neural, start.cpu(), length).to(self.device)

    def to(self, device: Any) -> Any:
        """Move every tensor but a file-backed signal to ``device`` (its windows move when gathered)."""
        neural = self.__dict__.get("neural")
        if mapped_file_of(neural) is None:
            return super().to(device)
        del self.__dict__["neural"]
        try:
            return super().to(device)
        finally:
            self.__dict__["neural"] = neural

    def __getstate__(self) -> Any:
        state = dict(self.__dict__)
        mapped = _MAPPED.get(state["neural"]) if isinstance(state.get("neural"), torch.Tensor) else None
        if mapped is not None:
            state["neural"] = mapped  # pickles as a file reference, unpickles as the re-mapped tensor
        return state
