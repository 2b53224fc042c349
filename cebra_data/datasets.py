"""Concrete datasets: arrays in memory, collections of sessions, unified sessions (layer L3)."""

from __future__ import annotations

import copy
import os
import types
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch

from cebra_data._validation import (
    NEURAL_NAN_POLICIES,
    check_choice,
    check_consistent_length,
    check_continuous,
    check_discrete,
    check_neural,
    check_trial_ids,
    encode_categories,
)
from cebra_data.base import as_index_tensor, as_offset
from cebra_data.datatypes import Batch, BatchIndex, Offset  # noqa: F401  (Offset re-exported as in cebra.data.datasets)
from cebra_data.device import DeviceLike, check_holds_values
from cebra_data.errors import DimensionMismatchError
from cebra_data.file_backed import FileBackedNeural, reopen_memmap
from cebra_data.io.dataset_file import read_dataset_file
from cebra_data.missing import MissingValues
from cebra_data.multi_session import MultiSessionDataset
from cebra_data.multiobjective import DatasetxCEBRA  # noqa: F401  (re-exported as in cebra.data.datasets)
from cebra_data.neurons import (
    NeuronMetadata,
    check_neuron_meta,
    check_selection_criteria,
    check_selection_keys,
)
from cebra_data.nwb_dataset import dataset_from_nwb
from cebra_data.single_session import SingleSessionDataset
from cebra_data.trials import concatenate_trials, trial_bounds

__all__ = ["TensorDataset", "DatasetCollection", "UnifiedDataset"]

ArrayLike = Union[np.ndarray, torch.Tensor]


def _cebra_to_tensor(self: Any, array: Any, check_dtype: Optional[str] = None) -> Optional[torch.Tensor]:
    """Convert an array to a tensor and check its kind (``cebra.data``'s private helper).

    Kept so that code calling ``TensorDataset._to_tensor`` keeps working; the
    constructor validates its inputs itself.

    Args:
        array: a tensor, a numpy array or ``None``.
        check_dtype: ``"int"`` or ``"float"`` to require integer or
            floating-point values; ``None`` checks nothing.

    Returns:
        ``None`` for ``None``; otherwise a float32 tensor for floating-point
        values, an int64 tensor for integer values, or the tensor unchanged.

    Raises:
        ValueError: if ``check_dtype`` is not ``None``, ``"int"`` or ``"float"``.
        TypeError: if the values are not of the kind ``check_dtype`` names.

    Example:
        >>> import numpy as np
        >>> ds = TensorDataset(np.zeros((10, 2)), continuous=np.zeros((10, 1)))
        >>> ds._to_tensor(np.arange(3), check_dtype="int").dtype
        torch.int64
    """
    if check_dtype not in (None, "int", "float"):
        raise ValueError(f"check_dtype must be 'int' or 'float', got {check_dtype!r}.")
    if array is None:
        return None
    tensor = array if isinstance(array, torch.Tensor) else torch.as_tensor(np.asarray(array))
    is_float = tensor.is_floating_point()
    is_int = not is_float and not tensor.is_complex() and tensor.dtype != torch.bool
    if (check_dtype == "int" and not is_int) or (check_dtype == "float" and not is_float):
        raise TypeError(f"Array has type {tensor.dtype} instead of {check_dtype}.")
    if is_float:
        return tensor.float()
    return tensor.long() if is_int else tensor


class TensorDataset(FileBackedNeural, NeuronMetadata, MissingValues, SingleSessionDataset):
    """A single session held in memory as numpy arrays or tensors.

    Args:
        neural: the signal, ``(N, D)``. Stored as float32; float64 is converted
            to float32, integer and boolean data (e.g. spike counts) are
            converted to float32 as well (a warning is raised if an integer is
            too large for float32 to hold exactly). Infinite values are always
            an error; NaN values (and pandas' ``pd.NA``) are an error unless
            ``neural_nan="mask"``. A float32 numpy array without NaN is shared,
            not copied.
        continuous: a continuous index ``(N, d)`` or ``(N,)`` (becomes
            ``(N, 1)``), stored as float32 (integers converted directly, with a
            ``PrecisionWarning`` if rounded). NaN or ``pd.NA`` marks a missing
            label: such time steps are excluded from sampling (:attr:`num_excluded`).
        discrete: a discrete index ``(N,)`` of integer labels, stored as int64.
            Float labels are an error, and so are missing ones (``ValueError``).
            Text labels (strings, a pandas
            ``Series`` of strings, a pandas ``Categorical``) become integer
            codes, equal labels equal codes; :attr:`discrete_categories`
            holds the label of each code.
        offset: the window, an :class:`~cebra_data.Offset` (default
            ``Offset(0, 1)``), an integer or a ``(left, right)`` tuple.
        device: the device to hold the tensors on.
        trial_ids: optional per-sample trial ids ``(N,)``; each trial must be
            one contiguous block. Windows then never cross a trial border. To
            build a dataset from per-trial arrays, use :meth:`from_trials`.
        neural_nan: what to do with NaN in ``neural``: ``"raise"`` (default)
            rejects them; ``"mask"`` treats a time step with a NaN in any
            feature as *missing*: its NaN values are replaced by 0 in a copy
            (the caller's array is never written to), and every time step whose
            window touches a missing step is excluded from sampling. Loaders
            therefore never return a window that contains a missing step, and
            no NaN ever reaches a batch; only direct indexing
            (``dataset[index]``) can still show the zeros. The count is in
            :attr:`num_missing_neural` and :attr:`num_excluded`.
        neuron_meta: optional per-neuron metadata, a list of ``D`` dicts or a
            pandas DataFrame with ``D`` rows (e.g. brain area, depth, quality
            scores); used by :meth:`select_neurons`.

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

        Missing neural values, masked on request:

        >>> gappy = neural.copy()
        >>> gappy[50, 3] = np.nan
        >>> masked = TensorDataset(gappy, continuous=position, offset=(5, 5), neural_nan="mask")
        >>> masked.num_missing_neural, masked.num_excluded  # windows of 46 .. 55 touch step 50
        (1, 10)
        >>> masked.sample_mask()[44:58].int().tolist()
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    """

    #: Name of the split part this dataset is (``"train"``, ``"test"``, ...), or ``None``.
    split_part: Optional[str]
    #: ``True`` for a held-out part of a split (every part except the training part).
    held_out: bool
    #: For a split part: the time step of the original recording of every sample, else ``None``.
    source_index: Optional[torch.Tensor]
    #: The normalisations applied to this dataset, oldest first (see :class:`cebra_data.Normalizer`).
    normalization: Tuple[Dict[str, Any], ...]
    #: For text or categorical discrete labels: the label of each code
    #: (``discrete_categories[code]``); ``None`` for integer labels.
    discrete_categories: Optional[Tuple[Any, ...]]

    def __init__(
        self,
        neural: ArrayLike,
        continuous: Optional[ArrayLike] = None,
        discrete: Optional[ArrayLike] = None,
        offset: Any = None,
        device: DeviceLike = "cpu",
        *,
        trial_ids: Optional[ArrayLike] = None,
        neural_nan: str = "raise",
        neuron_meta: Any = None,
    ) -> None:
        super().__init__(device=device)
        check_holds_values(self.device, "building a TensorDataset")
        if continuous is None and discrete is None:
            raise ValueError(
                "TensorDataset needs at least one index: pass continuous (e.g. behaviour, or "
                "time as np.arange(N)) and/or discrete labels."
            )
        check_choice(neural_nan, "neural_nan", NEURAL_NAN_POLICIES)
        neural_t, missing = check_neural(reopen_memmap(neural), neural_nan)  # a memmap stays file-backed
        continuous_t = check_continuous(continuous, dtype=torch.float32, finite_or_nan=True) if continuous is not None else None
        discrete, categories = encode_categories(discrete) if discrete is not None else (None, None)
        discrete_t = check_discrete(discrete) if discrete is not None else None
        n = check_consistent_length(neural=neural_t, continuous=continuous_t, discrete=discrete_t)
        trial_t = check_trial_ids(trial_ids, n) if trial_ids is not None else None
        meta = check_neuron_meta(neuron_meta, neural_t.shape[1])
        self._setup(
            neural=neural_t,
            continuous=continuous_t,
            discrete=discrete_t,
            trial_ids=trial_t,
            neural_missing=missing,
            neuron_meta=meta,
            offset=as_offset(offset),
            discrete_categories=categories,
        )

    #: The state a dataset is made of, the fields :meth:`replace` accepts.
    STATE_FIELDS = ("neural", "continuous", "discrete", "trial_ids", "neural_missing", "neuron_meta",
              "offset", "split_part", "held_out", "source_index", "normalization", "source_neurons",
              "discrete_categories")
    #: The attributes that hold the state fields stored under another name.
    _PRIVATE_STATE = {"trial_ids": "_trial_ids", "neural_missing": "_neural_missing",
                      "neuron_meta": "_neuron_meta", "source_neurons": "_source_neurons"}

    def _setup(
        self,
        *,
        neural: torch.Tensor,
        continuous: Optional[torch.Tensor],
        discrete: Optional[torch.Tensor],
        trial_ids: Optional[torch.Tensor],
        neural_missing: Optional[torch.Tensor],
        neuron_meta: Optional[List[Dict[str, Any]]],
        offset: Any,
        split_part: Optional[str] = None,
        held_out: bool = False,
        source_index: Optional[torch.Tensor] = None,
        normalization: Tuple[Dict[str, Any], ...] = (),
        source_neurons: Optional[torch.Tensor] = None,
        discrete_categories: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        """Store already validated state; shared by ``__init__`` and :meth:`replace`."""
        device = self.device
        self.neural = self._place_neural(neural, device)
        self.continuous = continuous.to(device) if continuous is not None else None
        self.discrete = discrete.to(device) if discrete is not None else None
        self._trial_ids = trial_ids.to(device) if trial_ids is not None else None
        self._trial_low = self._trial_high = None
        if trial_ids is not None:
            self._trial_low, self._trial_high = trial_bounds(trial_ids)
            self._trial_low, self._trial_high = self._trial_low.to(device), self._trial_high.to(device)
        self._label_missing = None
        if self.continuous is not None:
            missing = torch.isnan(self.continuous).any(dim=1)
            if bool(missing.any()):
                self._label_missing = missing
        self._neural_missing = (
            neural_missing.to(device) if neural_missing is not None and bool(neural_missing.any()) else None
        )
        self._neuron_meta = neuron_meta
        self.split_part = split_part
        self.held_out = bool(held_out)
        self.source_index = source_index.to(device) if source_index is not None else None
        self.normalization = tuple(normalization)
        self._source_neurons = source_neurons
        self.discrete_categories = discrete_categories
        self.offset = offset

    def replace(self, **changes: Any) -> "TensorDataset":
        """A new dataset with some state replaced; the tensors not replaced are shared.

        The fields are those of :attr:`STATE_FIELDS`. The new values are taken
        as already checked: this is the constructor of derived datasets
        (split parts, normalised copies, neuron selections), not of user data.

        Raises:
            TypeError: for a field that is not one of :attr:`STATE_FIELDS`.
        """
        unknown = set(changes) - set(self.STATE_FIELDS)
        if unknown:
            raise TypeError(
                f"replace got unknown fields {sorted(unknown)}; valid fields are "
                f"{list(self.STATE_FIELDS)}."
            )
        state = {field: getattr(self, self._PRIVATE_STATE.get(field, field)) for field in self.STATE_FIELDS}
        state.update(changes)
        new = copy.copy(self)
        new._setup(**state)
        return new

    #: A dataset from an NWB file: see :func:`cebra_data.nwb_dataset.dataset_from_nwb`.
    from_nwb = classmethod(dataset_from_nwb)

    @classmethod
    def from_file(
        cls,
        file: Union[str, os.PathLike],
        *,
        offset: Any = None,
        device: DeviceLike = "cpu",
        trusted: bool = False,
    ) -> "TensorDataset":
        """A dataset from a *dataset file* (see :mod:`cebra_data.io.dataset_file`).

        The file is any file :func:`~cebra_data.load_data` reads whose entries are
        named like this class's arguments: ``neural``, and ``continuous`` and/or
        ``discrete``, optionally ``trial_ids``; other entries are ignored.

        Args:
            file: the file.
            offset: the dataset's offset (default ``Offset(0, 1)``).
            device: the device of the dataset's tensors.
            trusted: passed to :func:`~cebra_data.load_data` (pickle-based files).

        Raises:
            cebra_data.errors.MissingKeyError: if the file has no ``neural`` entry or
                neither a ``continuous`` nor a ``discrete`` one (the message lists
                what it has).
            ValueError, TypeError: from the validation of the arrays.

        Example:
            >>> import numpy as np
            >>> from cebra_data import TensorDataset
            >>> np.savez(tmp_path / "session.npz", neural=np.zeros((50, 3)), discrete=np.arange(50) % 2)
            >>> TensorDataset.from_file(tmp_path / "session.npz", offset=(2, 2))
            TensorDataset(N=50, input_dimension=3, discrete_labels=2, Offset(left=2, right=2, length=4), device='cpu')
        """
        data = read_dataset_file(file, trusted=trusted)
        return cls(
            data["neural"],
            continuous=data["continuous"],
            discrete=data["discrete"],
            offset=offset,
            device=device,
            trial_ids=data["trial_ids"],
        )

    @classmethod
    def from_trials(
        cls,
        neural_trials: Sequence[ArrayLike],
        continuous: Optional[Sequence[ArrayLike]] = None,
        discrete: Optional[Union[Sequence[ArrayLike], Sequence[int], ArrayLike]] = None,
        offset: Any = None,
        device: DeviceLike = "cpu",
        *,
        trial_ids: Optional[Sequence[int]] = None,
        neural_nan: str = "raise",
        neuron_meta: Any = None,
    ) -> "TensorDataset":
        """Build a dataset from per-trial arrays of different lengths.

        The trials are concatenated in the given order and marked with
        :attr:`trial_ids`, so no window and no time-contrastive positive ever
        crosses from one trial into the next.

        Args:
            neural_trials: one ``(T_k, D)`` array per trial; the lengths ``T_k``
                may differ, the number of features ``D`` may not.
            continuous: ``None`` or one ``(T_k, d)`` / ``(T_k,)`` array per trial.
            discrete: ``None``; one ``(T_k,)`` integer array per trial; or one
                integer per trial (a list of integers or a 1-D integer array of
                length ``K``), which then labels every time step of its trial
                (e.g. the trial's condition). For labels that pair the same
                stimulus frame across repeats, see
                :func:`cebra_data.repeat_frame_labels`.
            offset: the window, as in the constructor.
            device: the device to hold the tensors on.
            trial_ids: the id of each trial (default ``0 .. K - 1``), e.g. the
                trial numbers of the experiment; ids must be distinct.
            neural_nan: ``"raise"`` or ``"mask"``, as in the constructor.
            neuron_meta: per-neuron metadata, as in the constructor.

        Returns:
            A :class:`TensorDataset` of ``sum(T_k)`` time steps.

        Raises:
            ValueError: for an empty trial, a wrong number of per-trial
                entries, a trial whose arrays differ in length, or repeated ids.
            TypeError: for a wrong container type.

        Example:
            >>> import numpy as np
            >>> from cebra_data import TensorDataset
            >>> rng = np.random.default_rng(0)
            >>> trials = [rng.normal(size=(t, 8)) for t in (30, 45, 25)]
            >>> ds = TensorDataset.from_trials(trials, discrete=[0, 1, 0], offset=(2, 3))
            >>> len(ds), ds.num_trials, ds.trial_lengths
            (100, 3, [30, 45, 25])
            >>> int(ds.sample_mask().sum())  # 3 trials x (length - 4) full windows
            88
        """
        parts = concatenate_trials(neural_trials, continuous, discrete, trial_ids)
        if parts["continuous"] is None and parts["discrete"] is None:
            raise ValueError(
                "TensorDataset.from_trials needs at least one index: pass continuous and/or "
                "discrete per trial."
            )
        return cls(
            parts["neural"],
            continuous=parts["continuous"],
            discrete=parts["discrete"],
            offset=offset,
            device=device,
            trial_ids=parts["trial_ids"],
            neural_nan=neural_nan,
            neuron_meta=neuron_meta,
        )

    #: ``cebra.data``'s private conversion helper, kept for code that calls it.
    _to_tensor = _cebra_to_tensor

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
    def num_trials(self) -> int:
        """The number of trials (0 without :attr:`trial_ids`)."""
        if self._trial_ids is None:
            return 0
        return int((self._trial_low[1:] != self._trial_low[:-1]).sum()) + 1

    @property
    def trial_lengths(self) -> List[int]:
        """The length of every trial in time order (empty without :attr:`trial_ids`)."""
        if self._trial_ids is None:
            return []
        starts = torch.unique_consecutive(self._trial_low)
        ends = torch.unique_consecutive(self._trial_high)
        return (ends - starts).tolist()

    # -- windows ------------------------------------------------------------------

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

        A single integer (also a 0-d integer tensor) gives one window.
        Indices whose window would leave the recording (or their trial) follow
        the edge rule of :meth:`~cebra_data.Dataset.expand_index`. The windows
        are a view of one row-order gather, laid out as ``cebra.data``'s (see
        :func:`cebra_data.file_backed.gather_windows`).
        """
        return self._gather_windows(self._window_start(index), len(self.offset))

    def __repr__(self) -> str:
        parts = [f"N={len(self)}", f"input_dimension={self.input_dimension}"]
        if self.continuous is not None:
            parts.append(f"continuous_dim={self.continuous.shape[1]}")
        parts += _label_counts(self)
        if self.split_part is not None:
            parts.append(f"split_part={self.split_part!r}")
        parts += [repr(self.offset), f"device={self.device!r}"]
        return f"TensorDataset({', '.join(parts)})"


def _label_counts(dataset: "TensorDataset") -> List[str]:
    """The ``discrete_labels=`` and ``trials=`` parts of a dataset's repr (``?`` on ``"meta"``)."""
    holds_values = str(dataset.device).split(":")[0] != "meta"  # meta tensors have no values
    parts = []
    if dataset.discrete is not None:
        parts.append(f"discrete_labels={int(dataset.discrete.unique().numel()) if holds_values else '?'}")
    if dataset._trial_ids is not None:
        parts.append(f"trials={dataset.num_trials if holds_values else '?'}")
    return parts


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
        categories = [getattr(s, "discrete_categories", None) for s in sessions]
        if any(c is not None for c in categories) and len(set(categories)) > 1:
            listing = ", ".join(f"session {i}: {c}" for i, c in enumerate(categories))
            raise DimensionMismatchError(
                "The sessions' text labels were coded separately, so one code would mean "
                f"different labels in different sessions ({listing}). Give every session the "
                "same categories, e.g. pd.Categorical(labels, categories=all_labels)."
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

    # -- split parts, missing values, neurons ---------------------------------------

    @property
    def split_part(self) -> Optional[str]:
        """The split part shared by every session (see :func:`cebra_data.split_dataset`), or ``None``."""
        parts = {getattr(s, "split_part", None) for s in self._datasets}
        return parts.pop() if len(parts) == 1 else None

    @property
    def held_out(self) -> bool:
        """``True`` if any session is a held-out part of a split."""
        return any(getattr(s, "held_out", False) for s in self._datasets)

    @property
    def num_excluded(self) -> int:
        """The number of time steps excluded from sampling, over all sessions."""
        return sum(getattr(s, "num_excluded", 0) for s in self._datasets)

    @property
    def neuron_meta(self) -> List[Optional[List[Dict[str, Any]]]]:
        """Per session, its per-neuron metadata (or ``None``)."""
        return [getattr(s, "neuron_meta", None) for s in self._datasets]

    def select_neurons(
        self,
        predicate: Optional[Callable[[Dict[str, Any]], Any]] = None,
        **attributes: Any,
    ) -> "DatasetCollection":
        """A new collection whose sessions keep only the matching neurons.

        Every session is filtered with
        :meth:`TensorDataset.select_neurons`'s rule. Sessions may carry
        different metadata keys: in a session whose neurons lack a key, no
        neuron matches on it; a key that no neuron of any session has is an
        error. Every session must keep at least one neuron.

        Args:
            predicate: a function of one neuron's metadata dict.
            **attributes: required metadata values.

        Returns:
            A new collection of the same type.

        Raises:
            ValueError: without criteria, or when a session keeps no neuron.
            KeyError: for a key that no neuron of any session has.
            TypeError: for sessions that do not support neuron selection.

        Example:
            >>> import numpy as np, cebra_data
            >>> a = cebra_data.TensorDataset(np.zeros((20, 2)), discrete=np.zeros(20, dtype=int),
            ...                              neuron_meta=[{"area": "V1"}, {"area": "LM"}])
            >>> b = cebra_data.TensorDataset(np.zeros((20, 3)), discrete=np.zeros(20, dtype=int),
            ...                              neuron_meta=[{"area": "V1", "depth": 200}, {"area": "V1"},
            ...                                           {"area": "RL"}])
            >>> cebra_data.DatasetCollection(a, b).select_neurons(area="V1").neuron_meta
            [[{'area': 'V1'}], [{'area': 'V1', 'depth': 200}, {'area': 'V1'}]]
        """
        check_selection_criteria(predicate, attributes)
        matches = []
        keys: set = set()
        ran = candidates = False
        for i, session in enumerate(self._datasets):
            if not hasattr(session, "neuron_matches"):
                raise TypeError(
                    f"session {i} is a {type(session).__name__}, which does not support "
                    "select_neurons; use TensorDataset sessions."
                )
            selected, session_keys, session_ran, session_candidates = session.neuron_matches(
                predicate, attributes
            )
            matches.append(selected)
            keys |= session_keys
            ran, candidates = ran or session_ran, candidates or session_candidates
        check_selection_keys(attributes, keys, predicate, ran, candidates)
        empty = [i for i, selected in enumerate(matches) if not any(selected)]
        if empty:
            raise ValueError(
                f"select_neurons leaves session(s) {empty} without neurons (sessions without "
                "neuron_meta, or whose neurons all lack the keys, match nothing); every session "
                "needs at least one neuron. Select per session, or drop those sessions first."
            )
        sessions = [s._take_neurons(m) for s, m in zip(self._datasets, matches)]
        return type(self)(sessions)

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
