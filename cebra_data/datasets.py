"""Concrete datasets: arrays in memory, collections of sessions, unified sessions."""

from __future__ import annotations

import copy
import types
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import as_tensor, check_choice, check_consistent_length
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


def _check_empty(tensor: torch.Tensor, name: str) -> None:
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(tensor.shape)}); it needs at least one sample.")


#: Values of ``TensorDataset(neural_nan=...)``.
NEURAL_NAN_POLICIES = ("raise", "mask")


def _validate_neural(neural: Any, neural_nan: str = "raise") -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Validated float32 signal and, for ``neural_nan="mask"``, the ``(N,)`` mask of NaN rows."""
    tensor = as_tensor(neural, "neural")
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
    if bool(finite.all()):
        return tensor, None
    nan = torch.isnan(tensor)
    num_nan = int(nan.sum())
    num_inf = int(torch.isinf(tensor).sum())
    if neural_nan == "mask" and num_inf == 0:
        # A new tensor: the caller's array is never written to.
        return torch.where(nan, torch.zeros((), dtype=tensor.dtype), tensor), nan.any(dim=1)
    bad = (~finite).nonzero()
    row, col = (int(v) for v in bad[0])
    if num_inf:
        fix = "impute or remove them (neural_nan='mask' masks NaN, never infinite values)."
    else:
        fix = ("impute or remove these samples, or pass neural_nan='mask' to exclude every "
               "window that touches them from sampling.")
    raise ValueError(
        f"neural contains {num_nan} NaN and {num_inf} infinite values (first at time step "
        f"{row}, feature {col}). Neural data must be finite: {fix}"
    )


def _validate_neuron_meta(neuron_meta: Any, num_neurons: int) -> Optional[List[Dict[str, Any]]]:
    """Per-neuron metadata as a list of ``num_neurons`` fresh dicts (``None`` passes through)."""
    if neuron_meta is None:
        return None
    if hasattr(neuron_meta, "to_dict") and hasattr(neuron_meta, "columns"):  # a pandas DataFrame
        records = neuron_meta.to_dict("records")
    elif isinstance(neuron_meta, (list, tuple)):
        records = list(neuron_meta)
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(
                    "neuron_meta should be a list of dicts (one per neuron) or a pandas "
                    f"DataFrame, but entry {i} is a {type(record).__name__}."
                )
    else:
        raise TypeError(
            "neuron_meta should be a list of dicts (one per neuron) or a pandas DataFrame, "
            f"but got {type(neuron_meta).__name__}."
        )
    if len(records) != num_neurons:
        raise ValueError(
            f"neuron_meta should describe every neuron (neural has {num_neurons} features), "
            f"but got {len(records)} entries."
        )
    return [dict(record) for record in records]


_MISSING = object()


def _match_neurons(
    meta: Optional[List[Dict[str, Any]]],
    predicate: Optional[Callable[[Dict[str, Any]], Any]],
    attributes: Dict[str, Any],
) -> Tuple[List[bool], set, bool, bool]:
    """Which neurons match, the keys seen, whether the predicate ever ran, whether any neuron
    passed the attribute filter.

    A neuron whose metadata lacks an attribute's key is not selected; a
    predicate raising ``KeyError`` for a key the neuron lacks is "not selected"
    too. The caller decides whether a key that no neuron has is an error.
    """
    keys: set = set()
    predicate_ran = any_candidate = False
    selected = []
    for record in meta or []:
        keys.update(record)
        keep = all(record.get(k, _MISSING) is not _MISSING and bool(record[k] == v)
                   for k, v in attributes.items())
        any_candidate = any_candidate or keep
        if keep and predicate is not None:
            try:
                keep = bool(predicate(record))
                predicate_ran = True
            except KeyError as err:
                if err.args and err.args[0] in record:
                    raise
                keep = False
        selected.append(keep)
    return selected, keys, predicate_ran, any_candidate


def _check_selection_keys(
    attributes: Dict[str, Any], keys: set, predicate: Any, predicate_ran: bool, any_candidate: bool
) -> None:
    available = ", ".join(repr(k) for k in sorted(keys, key=str)) or "none"
    unknown = [k for k in attributes if k not in keys]
    if unknown:
        raise KeyError(
            f"select_neurons: no neuron has the metadata key(s) {unknown}; available keys: "
            f"{available}."
        )
    if predicate is not None and any_candidate and not predicate_ran:
        raise KeyError(
            "select_neurons: the predicate raised KeyError for every neuron, so it looks up a "
            f"key that no neuron has; available keys: {available}. Use record.get(key, default) "
            "for keys only some neurons have."
        )


def _validate_continuous(continuous: Any, n: int) -> torch.Tensor:
    tensor = as_tensor(continuous, "continuous")
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
    tensor = as_tensor(discrete, "discrete")
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
            too large for float32 to hold exactly). Infinite values are always
            an error; NaN values are an error unless ``neural_nan="mask"``. A
            float32 numpy array without NaN is shared, not copied.
        continuous: a continuous index ``(N, d)`` or ``(N,)`` (becomes
            ``(N, 1)``), stored as float32. NaN marks a missing label: such
            time steps are excluded from sampling (see :attr:`num_excluded`).
        discrete: a discrete index ``(N,)`` of integer labels, stored as int64.
            Float labels are an error.
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
        if continuous is None and discrete is None:
            raise ValueError(
                "TensorDataset needs at least one index: pass continuous (e.g. behaviour, or "
                "time as np.arange(N)) and/or discrete labels."
            )
        check_choice(neural_nan, "neural_nan", NEURAL_NAN_POLICIES)
        neural_t, missing = _validate_neural(neural, neural_nan)
        continuous_t = _validate_continuous(continuous, len(neural_t)) if continuous is not None else None
        discrete_t = _validate_discrete(discrete) if discrete is not None else None
        n = check_consistent_length(neural=neural_t, continuous=continuous_t, discrete=discrete_t)
        trial_t = _validate_trial_ids(trial_ids, n) if trial_ids is not None else None
        meta = _validate_neuron_meta(neuron_meta, neural_t.shape[1])
        self._setup(
            neural=neural_t,
            continuous=continuous_t,
            discrete=discrete_t,
            trial_ids=trial_t,
            neural_missing=missing,
            neuron_meta=meta,
            offset=as_offset(offset),
        )

    _STATE = ("neural", "continuous", "discrete", "trial_ids", "neural_missing", "neuron_meta",
              "offset", "split_part", "held_out", "source_index", "normalization", "source_neurons")

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
    ) -> None:
        """Store already validated state; shared by ``__init__`` and :meth:`_replace`."""
        device = self.device
        self.neural = neural.to(device)
        self.continuous = continuous.to(device) if continuous is not None else None
        self.discrete = discrete.to(device) if discrete is not None else None
        self._trial_ids = trial_ids.to(device) if trial_ids is not None else None
        self._trial_low = self._trial_high = None
        if trial_ids is not None:
            self._trial_low, self._trial_high = self._trial_bounds(trial_ids)
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
        self.offset = offset

    def _replace(self, **changes: Any) -> "TensorDataset":
        """A new dataset with some state replaced; the tensors not replaced are shared."""
        unknown = set(changes) - set(self._STATE)
        if unknown:
            raise TypeError(f"_replace got unknown fields {sorted(unknown)}.")
        state = {
            "neural": self.neural,
            "continuous": self.continuous,
            "discrete": self.discrete,
            "trial_ids": self._trial_ids,
            "neural_missing": self._neural_missing,
            "neuron_meta": self._neuron_meta,
            "offset": self.offset,
            "split_part": self.split_part,
            "held_out": self.held_out,
            "source_index": self.source_index,
            "normalization": self.normalization,
            "source_neurons": self._source_neurons,
        }
        state.update(changes)
        new = copy.copy(self)
        new._setup(**state)
        return new

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
        from cebra_data.trials import concatenate_trials

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

    # -- missing values ---------------------------------------------------------

    @property
    def neural_missing(self) -> Optional[torch.Tensor]:
        """``(N,)`` ``True`` at time steps whose neural values were NaN (``neural_nan="mask"``)."""
        return self._neural_missing

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """``True`` at time steps excluded from sampling, ``None`` if there are none.

        A time step is excluded when its continuous label is NaN, or (with
        ``neural_nan="mask"``) when its window under the current
        :attr:`offset` touches a time step with missing neural values.
        """
        excluded = self._label_missing
        if self._neural_missing is not None:
            touches = self._window_touches(self._neural_missing)
            excluded = touches if excluded is None else excluded | touches
        return excluded

    def _window_touches(self, marked: torch.Tensor) -> torch.Tensor:
        """``(N,)`` ``True`` where ``[i - left, i + right)`` (clipped to the recording) has a marked step."""
        n = len(self)
        left, right = self.offset
        counts = torch.zeros(n + 1, dtype=torch.long, device=marked.device)
        counts[1:] = torch.cumsum(marked.long(), 0)
        position = torch.arange(n, device=marked.device)
        low = (position - left).clamp(min=0)
        high = (position + right).clamp(max=n)
        return counts[high] > counts[low]

    @property
    def num_excluded(self) -> int:
        """The number of time steps excluded from sampling (missing label or missing neural values)."""
        excluded = self.excluded_mask
        return 0 if excluded is None else int(excluded.sum())

    @property
    def num_missing_labels(self) -> int:
        """The number of time steps whose continuous label has a NaN."""
        return 0 if self._label_missing is None else int(self._label_missing.sum())

    @property
    def num_missing_neural(self) -> int:
        """The number of time steps whose neural values had a NaN (``neural_nan="mask"``)."""
        return 0 if self._neural_missing is None else int(self._neural_missing.sum())

    # -- neurons ------------------------------------------------------------------

    @property
    def neuron_meta(self) -> Optional[List[Dict[str, Any]]]:
        """Per-neuron metadata (a list of ``input_dimension`` dicts, copies), or ``None``."""
        if self._neuron_meta is None:
            return None
        return [dict(record) for record in self._neuron_meta]

    @property
    def source_neurons(self) -> torch.Tensor:
        """The original column of every neuron, after any :meth:`select_neurons`."""
        if self._source_neurons is None:
            return torch.arange(self.input_dimension)
        return self._source_neurons

    def with_neuron_meta(self, **columns: Any) -> "TensorDataset":
        """A new dataset whose :attr:`neuron_meta` has extra (or replaced) keys.

        Args:
            **columns: ``key=values`` with one value per neuron (a list, numpy
                array or 1-D tensor of length :attr:`input_dimension`), e.g.
                the output of :func:`cebra_data.quality.neuron_quality`.

        Returns:
            A new dataset sharing this one's tensors.

        Raises:
            ValueError: if a column does not have one value per neuron.

        Example:
            >>> import numpy as np, cebra_data
            >>> ds = cebra_data.TensorDataset(np.zeros((20, 3)), discrete=np.zeros(20, dtype=int))
            >>> ds.with_neuron_meta(area=["V1", "V1", "LM"]).neuron_meta[2]
            {'area': 'LM'}
        """
        records = self.neuron_meta or [{} for _ in range(self.input_dimension)]
        for key, values in columns.items():
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu().numpy()
            values = list(values.tolist() if isinstance(values, np.ndarray) else values)
            if len(values) != self.input_dimension:
                raise ValueError(
                    f"neuron metadata column {key!r} should have one value per neuron "
                    f"({self.input_dimension}), but got {len(values)}."
                )
            for record, value in zip(records, values):
                record[key] = value
        return self._replace(neuron_meta=records)

    def _neuron_matches(self, predicate: Any, attributes: Dict[str, Any]) -> Tuple[List[bool], set, bool, bool]:
        return _match_neurons(self._neuron_meta, predicate, attributes)

    def select_neurons(
        self,
        predicate: Optional[Callable[[Dict[str, Any]], Any]] = None,
        **attributes: Any,
    ) -> "TensorDataset":
        """A new dataset with the neurons whose metadata match.

        A neuron is kept when ``record[key] == value`` for every ``key=value``
        in ``attributes`` and ``predicate(record)`` is true, where ``record``
        is its :attr:`neuron_meta` dict. A neuron whose record lacks one of the
        keys is **not selected** (also when the predicate raises ``KeyError``
        for a key the record lacks), so one call works on sessions with
        different metadata; a key that *no* neuron has is an error, since it
        is almost always a typo.

        The new dataset shares labels, trials and offset, holds a copy of the
        selected columns, keeps the matching part of every neural
        normalisation, and records the original columns in
        :attr:`source_neurons`.

        Args:
            predicate: a function of one neuron's metadata dict.
            **attributes: required metadata values.

        Returns:
            A new :class:`TensorDataset`.

        Raises:
            ValueError: without :attr:`neuron_meta`, without any criterion, or
                when no neuron matches.
            KeyError: for a key that no neuron's metadata has.

        Example:
            >>> import numpy as np, cebra_data
            >>> meta = [{"area": "V1", "snr": 0.9}, {"area": "V1", "snr": 0.1}, {"area": "LM"}]
            >>> ds = cebra_data.TensorDataset(np.zeros((20, 3)), discrete=np.zeros(20, dtype=int),
            ...                               neuron_meta=meta)
            >>> ds.select_neurons(area="V1").input_dimension
            2
            >>> ds.select_neurons(lambda n: n["snr"] > 0.5).source_neurons.tolist()
            [0]
        """
        if predicate is None and not attributes:
            raise ValueError("select_neurons needs a predicate and/or attribute=value criteria.")
        if predicate is not None and not callable(predicate):
            raise TypeError(
                f"predicate should be a function of a neuron's metadata dict, but got "
                f"{type(predicate).__name__}."
            )
        if self._neuron_meta is None:
            raise ValueError(
                "select_neurons needs per-neuron metadata: build the dataset with neuron_meta=... "
                "or add columns with with_neuron_meta(...)."
            )
        selected, keys, ran, candidates = self._neuron_matches(predicate, attributes)
        _check_selection_keys(attributes, keys, predicate, ran, candidates)
        return self._take_neurons(selected)

    def _take_neurons(self, selected: List[bool]) -> "TensorDataset":
        keep = torch.tensor(selected, dtype=torch.bool)
        if not bool(keep.any()):
            raise ValueError(
                f"select_neurons matched none of the {self.input_dimension} neurons; a dataset "
                "needs at least one."
            )
        columns = keep.nonzero().flatten()
        normalization = []
        for record in self.normalization:
            if record["target"] == "neural":
                record = dict(record, location=record["location"][columns.to(record["location"].device)],
                              scale=record["scale"][columns.to(record["scale"].device)])
            normalization.append(record)
        return self._replace(
            neural=self.neural[:, columns.to(self.neural.device)].contiguous(),
            neuron_meta=[self._neuron_meta[int(c)] for c in columns] if self._neuron_meta else None,
            normalization=tuple(normalization),
            source_neurons=self.source_neurons[columns],
        )

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
            parts.append(f"trials={self.num_trials}")
        if self.split_part is not None:
            parts.append(f"split_part={self.split_part!r}")
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
        if predicate is None and not attributes:
            raise ValueError("select_neurons needs a predicate and/or attribute=value criteria.")
        if predicate is not None and not callable(predicate):
            raise TypeError(
                f"predicate should be a function of a neuron's metadata dict, but got "
                f"{type(predicate).__name__}."
            )
        matches = []
        keys: set = set()
        ran = candidates = False
        for i, session in enumerate(self._datasets):
            if not hasattr(session, "_neuron_matches"):
                raise TypeError(
                    f"session {i} is a {type(session).__name__}, which does not support "
                    "select_neurons; use TensorDataset sessions."
                )
            selected, session_keys, session_ran, session_candidates = session._neuron_matches(
                predicate, attributes
            )
            matches.append(selected)
            keys |= session_keys
            ran, candidates = ran or session_ran, candidates or session_candidates
        _check_selection_keys(attributes, keys, predicate, ran, candidates)
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
