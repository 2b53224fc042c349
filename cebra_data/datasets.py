"""Concrete datasets: arrays in memory, collections of sessions, unified sessions."""

from __future__ import annotations

import types
import warnings
from typing import Any, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch

from cebra_data._validation import check_consistent_length
from cebra_data.base import DeviceLike, _normalize_device, as_index_tensor, as_offset
from cebra_data.datatypes import Batch, BatchIndex
from cebra_data.errors import DimensionMismatchError
from cebra_data.multi_session import MultiSessionDataset
from cebra_data.single_session import SingleSessionDataset

__all__ = ["TensorDataset", "DatasetCollection", "UnifiedDataset"]

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Largest integer that float32 represents exactly; beyond it converting
#: integer data to float32 changes values.
_FLOAT32_EXACT = 2**24


def _to_tensor(value: Any, name: str) -> torch.Tensor:
    """A tensor view of a numpy array or tensor; anything else is a TypeError."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} should be a numeric array, but got an array of dtype {value.dtype}."
            )
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        if not value.flags.writeable:
            # torch warns about read-only arrays; cebra_data never writes into
            # user data, so sharing the memory is safe.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(value)
        return torch.from_numpy(value)
    raise TypeError(
        f"{name} should be a numpy array or a torch.Tensor, but got {type(value).__name__}."
    )


def _check_empty(tensor: torch.Tensor, name: str) -> None:
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(tensor.shape)}); it needs at least one sample.")


def _validate_neural(neural: Any) -> torch.Tensor:
    tensor = _to_tensor(neural, "neural")
    if tensor.ndim != 2:
        hint = (
            " Reshape your data using array.reshape(-1, 1) if it has a single feature."
            if tensor.ndim == 1
            else ""
        )
        raise ValueError(
            f"neural should be a 2-D array of shape (time steps, features), but got a "
            f"{tensor.ndim}-D array of shape {tuple(tensor.shape)}.{hint}"
        )
    _check_empty(tensor, "neural")
    if tensor.is_complex():
        raise TypeError(f"neural should be real-valued, but got dtype {tensor.dtype}.")
    if not tensor.is_floating_point():
        # Integer (e.g. spike counts) and boolean data are converted to float32.
        if tensor.dtype != torch.bool:
            largest = int(tensor.abs().max())
            if largest > _FLOAT32_EXACT:
                warnings.warn(
                    f"neural has integer values up to {largest}, beyond 2**24: converting "
                    f"{tensor.dtype} to float32 rounds them.",
                    UserWarning,
                    stacklevel=4,
                )
        tensor = tensor.to(torch.float32)
    elif tensor.dtype != torch.float32:
        tensor = tensor.to(torch.float32)
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = (~finite).nonzero()
        num_nan = int(torch.isnan(tensor).sum())
        num_inf = int(torch.isinf(tensor).sum())
        row, col = (int(v) for v in bad[0])
        raise ValueError(
            f"neural contains {num_nan} NaN and {num_inf} infinite values (first at time step "
            f"{row}, feature {col}). Neural data must be finite: impute or remove these samples."
        )
    return tensor


def _validate_continuous(continuous: Any, n: int) -> torch.Tensor:
    tensor = _to_tensor(continuous, "continuous")
    if tensor.ndim == 1:
        tensor = tensor[:, None]
    if tensor.ndim != 2:
        raise ValueError(
            "continuous should be a 1-D array (time steps,) or a 2-D array (time steps, "
            f"dimensions), but got a {tensor.ndim}-D array of shape {tuple(tensor.shape)}."
        )
    _check_empty(tensor, "continuous")
    if tensor.is_complex():
        raise TypeError(f"continuous should be real-valued, but got dtype {tensor.dtype}.")
    if tensor.dtype != torch.float32:
        tensor = tensor.to(torch.float32)
    num_inf = int(torch.isinf(tensor).sum())
    if num_inf:
        raise ValueError(
            f"continuous contains {num_inf} infinite values; labels must be finite "
            "(missing values may be NaN, which excludes those time steps from sampling)."
        )
    return tensor


def _validate_discrete(discrete: Any) -> torch.Tensor:
    tensor = _to_tensor(discrete, "discrete")
    if tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.ndim != 1:
        raise ValueError(
            "discrete should be a 1-D array of integer labels (time steps,), but got a "
            f"{tensor.ndim}-D array of shape {tuple(tensor.shape)}."
        )
    _check_empty(tensor, "discrete")
    if tensor.is_floating_point() or tensor.is_complex():
        raise TypeError(
            f"discrete should hold integer labels, but got dtype {tensor.dtype}. Convert "
            "integer-valued labels with labels.astype(int) (numpy) or labels.long() (torch); "
            "pass real-valued labels as continuous instead."
        )
    if tensor.dtype != torch.long:
        tensor = tensor.to(torch.long)
    return tensor


def _validate_trial_ids(trial_ids: Any, n: int) -> torch.Tensor:
    if isinstance(trial_ids, (list, tuple)):
        trial_ids = np.asarray(trial_ids)
    tensor = _validate_discrete(trial_ids)
    if tensor.numel() != n:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"neural={n}, trial_ids={tensor.numel()}."
        )
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = tensor[1:] != tensor[:-1]
    block_ids = tensor[starts]
    if block_ids.unique().numel() != block_ids.numel():
        counts = torch.bincount(torch.unique(block_ids, return_inverse=True)[1])
        repeated = block_ids.unique()[counts > 1][:5].tolist()
        raise ValueError(
            "trial_ids should mark each trial as one contiguous block of time steps, but "
            f"trial(s) {repeated} appear in several separate blocks."
        )
    return tensor


class TensorDataset(SingleSessionDataset):
    """A single session held in memory as numpy arrays or tensors.

    Args:
        neural: the signal, ``(N, D)``. Stored as float32; float64 is converted
            to float32, integer and boolean data (e.g. spike counts) are
            converted to float32 as well (a warning is raised if an integer is
            too large for float32 to hold exactly). NaN or infinite values are
            an error. A float32 numpy array is shared, not copied.
        continuous: a continuous index ``(N, d)`` or ``(N,)`` (becomes
            ``(N, 1)``), stored as float32. NaN marks a missing label: such
            time steps are excluded from sampling (see :attr:`num_excluded`).
        discrete: a discrete index ``(N,)`` of integer labels, stored as int64.
            Float labels are an error.
        offset: the window, an :class:`~cebra_data.Offset` (default
            ``Offset(0, 1)``), an integer or a ``(left, right)`` tuple.
        device: the device to hold the tensors on.
        trial_ids: optional per-sample trial ids ``(N,)``; each trial must be
            one contiguous block. Windows then never cross a trial border.

    At least one of ``continuous`` and ``discrete`` is required, as in
    ``cebra.data.TensorDataset``.

    Raises:
        TypeError: for non-array inputs or a wrong dtype (e.g. float discrete labels).
        ValueError: for mismatched lengths, wrong numbers of dimensions, empty
            arrays, NaN or inf in ``neural``, or a recording shorter than the offset.

    Example:
        >>> import numpy as np
        >>> from cebra_data import TensorDataset
        >>> rng = np.random.default_rng(0)
        >>> neural = rng.normal(size=(100, 30)).astype("float32")
        >>> position = rng.uniform(size=(100, 2))
        >>> ds = TensorDataset(neural, continuous=position, offset=(5, 5))
        >>> len(ds), ds.input_dimension, ds.continuous_index.shape
        (100, 30, torch.Size([100, 2]))
        >>> ds[torch.tensor([10, 20])].shape
        torch.Size([2, 30, 10])
    """

    def __init__(
        self,
        neural: ArrayLike,
        continuous: Optional[ArrayLike] = None,
        discrete: Optional[ArrayLike] = None,
        offset: Any = None,
        device: DeviceLike = "cpu",
        *,
        trial_ids: Optional[ArrayLike] = None,
    ) -> None:
        super().__init__(device=device)
        if continuous is None and discrete is None:
            raise ValueError(
                "TensorDataset needs at least one index: pass continuous (e.g. behaviour, or "
                "time as np.arange(N)) and/or discrete labels."
            )
        neural_t = _validate_neural(neural)
        continuous_t = _validate_continuous(continuous, len(neural_t)) if continuous is not None else None
        discrete_t = _validate_discrete(discrete) if discrete is not None else None
        n = check_consistent_length(neural=neural_t, continuous=continuous_t, discrete=discrete_t)
        trial_t = _validate_trial_ids(trial_ids, n) if trial_ids is not None else None

        device = self.device
        self.neural = neural_t.to(device)
        self.continuous = continuous_t.to(device) if continuous_t is not None else None
        self.discrete = discrete_t.to(device) if discrete_t is not None else None
        self._trial_ids = trial_t.to(device) if trial_t is not None else None
        self._trial_low = self._trial_high = None
        if trial_t is not None:
            self._trial_low, self._trial_high = self._trial_bounds(trial_t)
            self._trial_low, self._trial_high = self._trial_low.to(device), self._trial_high.to(device)
        self._excluded = None
        if self.continuous is not None:
            missing = torch.isnan(self.continuous).any(dim=1)
            if bool(missing.any()):
                self._excluded = missing
        self.offset = as_offset(offset)

    @staticmethod
    def _trial_bounds(trial_ids: torch.Tensor):
        """Per sample: index of the first sample of its trial and one past its last."""
        n = trial_ids.numel()
        position = torch.arange(n)
        new_trial = torch.ones(n, dtype=torch.bool)
        new_trial[1:] = trial_ids[1:].cpu() != trial_ids[:-1].cpu()
        starts = position[new_trial]
        ends = torch.cat([starts[1:], torch.tensor([n])])
        block = torch.cumsum(new_trial.long(), 0) - 1
        return starts[block], ends[block]

    def __len__(self) -> int:
        return self.neural.shape[0]

    @property
    def input_dimension(self) -> int:
        """The number of features (e.g. neurons) of the signal."""
        return self.neural.shape[1]

    @property
    def continuous_index(self) -> Optional[torch.Tensor]:
        return self.continuous

    @property
    def discrete_index(self) -> Optional[torch.Tensor]:
        return self.discrete

    @property
    def trial_ids(self) -> Optional[torch.Tensor]:
        return self._trial_ids

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """``True`` at time steps excluded from sampling (a NaN continuous label)."""
        return self._excluded

    @property
    def num_excluded(self) -> int:
        """The number of time steps excluded from sampling because a label is missing."""
        return 0 if self._excluded is None else int(self._excluded.sum())

    def _window_start(self, index: Any) -> torch.Tensor:
        if self._trial_ids is None:
            return super()._window_start(index)
        index = as_index_tensor(index, device=self.device)
        n = len(self)
        if index.numel() > 0 and (int(index.min()) < 0 or int(index.max()) >= n):
            bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
            raise IndexError(
                f"index {bad} is out of range for a recording of {n} samples "
                f"(valid indices are 0 .. {n - 1})."
            )
        left, right = self.offset
        low = self._trial_low[index] + left
        high = self._trial_high[index] - right
        if bool((low > high).any()):
            first = int((low > high).nonzero()[0, 0])
            raise ValueError(
                f"index {int(index[first])} lies in trial {int(self._trial_ids[index[first]])} "
                f"of {int(self._trial_high[index[first]] - self._trial_low[index[first]])} samples, "
                f"shorter than the window of {len(self.offset)} samples."
            )
        return torch.minimum(torch.maximum(index, low), high) - left

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        """Windows at ``index``: ``(len(index), input_dimension, len(offset))``.

        Indices whose window would leave the recording (or their trial) follow
        the edge rule of :meth:`~cebra_data.Dataset.expand_index`.
        """
        start = self._window_start(index)
        windows = self.neural.unfold(0, len(self.offset), 1)
        return windows[start]

    def __repr__(self) -> str:
        parts = [f"N={len(self)}", f"input_dimension={self.input_dimension}"]
        if self.continuous is not None:
            parts.append(f"continuous_dim={self.continuous.shape[1]}")
        if self.discrete is not None:
            parts.append(f"discrete_labels={int(self.discrete.unique().numel())}")
        if self._trial_ids is not None:
            parts.append(f"trials={int(self._trial_ids.unique().numel())}")
        parts += [repr(self.offset), f"device={self.device!r}"]
        return f"TensorDataset({', '.join(parts)})"


def _unpack_sessions(datasets: Sequence[Any]) -> List[SingleSessionDataset]:
    """Accept several datasets, one generator of datasets, or one list/tuple of them."""
    if len(datasets) == 1 and isinstance(datasets[0], (types.GeneratorType, list, tuple)):
        datasets = list(datasets[0])
    else:
        datasets = list(datasets)
    if not datasets:
        raise ValueError(
            "DatasetCollection needs at least one session: pass datasets as arguments, "
            "as one list, or as one generator."
        )
    for i, dataset in enumerate(datasets):
        if not isinstance(dataset, SingleSessionDataset):
            raise TypeError(
                "DatasetCollection accepts single-session datasets (e.g. TensorDataset) as "
                "several arguments, one list or one generator, but session "
                f"{i} is a {type(dataset).__name__}."
            )
    return datasets


class DatasetCollection(MultiSessionDataset):
    """Several sessions (e.g. animals) that share one behaviour space.

    Args:
        *datasets: single-session datasets, one list of them, or one generator
            yielding them. The order is kept for indexing.

    The sessions may differ in length and signal dimension. Their indices
    must agree: every session has a continuous index of the same dimension
    (or none does), and likewise for the discrete index. When every session
    has an index, :attr:`continuous_index` / :attr:`discrete_index` are the
    sessions' indices concatenated in order.

    Raises:
        TypeError: for something other than single-session datasets.
        DimensionMismatchError: when sessions disagree in index dimension.
        ValueError: when sessions are on different devices or use different offsets.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection
        >>> gen = torch.Generator().manual_seed(0)
        >>> sessions = [TensorDataset(torch.randn(100 + 10 * i, 30 + i, generator=gen),
        ...                           continuous=torch.randn(100 + 10 * i, 3, generator=gen))
        ...             for i in range(3)]
        >>> collection = DatasetCollection(sessions)
        >>> collection.num_sessions, collection.session_lengths
        (3, [100, 110, 120])
        >>> collection.get_input_dimension(2)
        32
    """

    def __init__(self, *datasets: Union[SingleSessionDataset, Iterable[SingleSessionDataset]]) -> None:
        sessions = _unpack_sessions(datasets)
        devices = {session.device for session in sessions}
        if len(devices) > 1:
            listing = ", ".join(f"session {i}: {s.device}" for i, s in enumerate(sessions))
            raise ValueError(
                f"All sessions must be on one device, but got {listing}. "
                "Move them with dataset.to(device) first."
            )
        super().__init__(device=devices.pop())
        self._datasets = sessions
        for kind in ("continuous_index", "discrete_index"):
            has = [getattr(s, kind) is not None for s in sessions]
            if any(has) and not all(has):
                missing = [i for i, h in enumerate(has) if not h]
                raise DimensionMismatchError(
                    f"Every session must have a {kind} or none may, but session(s) {missing} "
                    f"have no {kind} while others do."
                )
        if sessions[0].continuous_index is not None:
            dims = [int(s.continuous_index.shape[1]) for s in sessions]
            if len(set(dims)) > 1:
                listing = ", ".join(f"session {i}: {d}" for i, d in enumerate(dims))
                raise DimensionMismatchError(
                    "The sessions' continuous indices must have one dimension to share a "
                    f"behaviour space, but got {listing}."
                )
        offsets = {s.offset for s in sessions}
        if len(offsets) > 1:
            listing = ", ".join(f"session {i}: {s.offset!r}" for i, s in enumerate(sessions))
            raise ValueError(f"All sessions must use one offset, but got {listing}.")
        self._offset = offsets.pop()
        self._cindex = (
            torch.cat([s.continuous_index for s in sessions])
            if sessions[0].continuous_index is not None
            else None
        )
        self._dindex = (
            torch.cat([s.discrete_index for s in sessions])
            if sessions[0].discrete_index is not None
            else None
        )

    @property
    def num_sessions(self) -> int:
        return len(self._datasets)

    def get_session(self, session_id: int) -> SingleSessionDataset:
        return self._datasets[self._check_session_id(session_id)]

    @property
    def continuous_index(self) -> Optional[torch.Tensor]:
        """The sessions' continuous indices concatenated in session order."""
        return self._cindex

    @property
    def discrete_index(self) -> Optional[torch.Tensor]:
        """The sessions' discrete indices concatenated in session order."""
        return self._dindex

    def __len__(self) -> int:
        """The total number of time steps over all sessions."""
        return sum(self.session_lengths)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_sessions={self.num_sessions}, "
            f"session_lengths={self.session_lengths}, "
            f"input_dimensions={[self.get_input_dimension(i) for i in range(self.num_sessions)]}, "
            f"{self.offset!r}, device={self.device!r})"
        )


class UnifiedDataset(DatasetCollection):
    """Several sessions seen as one pseudo-session for a single model.

    A batch draws one set of indices per session (e.g. time steps with
    matching behaviour) and concatenates the sessions' windows along the
    neuron axis, so :attr:`input_dimension` is the sum of the sessions'
    dimensions and a batch has shape ``(batch, input_dimension, len(offset))``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, UnifiedDataset, BatchIndex
        >>> sessions = [TensorDataset(torch.zeros(50, d), continuous=torch.zeros(50, 2))
        ...             for d in (10, 20)]
        >>> unified = UnifiedDataset(*sessions)
        >>> unified.input_dimension
        30
        >>> idx = torch.tensor([[1, 2], [3, 4]])
        >>> unified.load_batch(BatchIndex(idx, idx, idx)).reference.shape
        torch.Size([2, 30, 1])
    """

    @property
    def input_dimension(self) -> int:
        """The sum of the sessions' signal dimensions."""
        return sum(self.get_input_dimension(i) for i in range(self.num_sessions))

    def configure_for(self, model: Any) -> None:
        """Set the offset of every session from one model (``model.get_offset()``)."""
        if isinstance(model, (list, tuple)) or not callable(getattr(model, "get_offset", None)):
            raise TypeError(
                "A UnifiedDataset trains one model on all sessions: configure_for expects one "
                f"model with get_offset(), but got {type(model).__name__}."
            )
        super().configure_for(model)

    def load_batch(self, index: BatchIndex) -> Batch:
        """Concatenate the sessions' windows along the neuron axis.

        Args:
            index: reference, positive and negative of shape ``(num_sessions, batch)``.

        Returns:
            One :class:`~cebra_data.Batch` of shape ``(batch, input_dimension, len(offset))``.
        """
        batches = super().load_batch(BatchIndex(index.reference, index.positive, index.negative))
        return Batch(
            reference=torch.cat([b.reference for b in batches], dim=1),
            positive=torch.cat([b.positive for b in batches], dim=1),
            negative=torch.cat([b.negative for b in batches], dim=1),
            index=index.index,
            index_reversed=index.index_reversed,
        )
