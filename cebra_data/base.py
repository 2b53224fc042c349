"""Abstract bases for datasets and loaders (layer L2).

Data flows one way: a :class:`Loader` asks a distribution for a
:class:`~cebra_data.BatchIndex`, then hands it to :meth:`Dataset.load_batch`,
which gathers the data windows into a :class:`~cebra_data.Batch`. Datasets
never sample and loaders never touch data themselves.
"""

from __future__ import annotations

import abc
import dataclasses
import pathlib
import pickle
from typing import Any, ClassVar, Iterator, List, Optional, Tuple

import numpy as np
import torch

from cebra_data._validation import check_int, check_positive_int, check_time_offset_for
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.device import DeviceLike, HasDevice, check_holds_values, normalize_device
from cebra_data.distributions.base import (
    JointDistribution,
    index_of,
    sample_mask_of,
    split_prior_batch,
    trial_ids_of,
    window_mask,
)
from cebra_data.distributions.registry import make_conditional
from cebra_data.errors import MissingIndexError
from cebra_data.io.download import download_file, extract_gzip, file_checksum
from cebra_data.masking import MaskedMixin
from cebra_data.seeding import SharedEpoch, as_generator, derive_seed, stream_seed
from cebra_data.summary import describe

__all__ = [
    "HasDevice",
    "Dataset",
    "Loader",
    "PickledByValue",
    "as_offset",
    "as_index_tensor",
    "index_of",
    "trial_ids_of",
    "sample_mask_of",
    "is_dataset_like",
    "is_multisession_like",
    "offset_key_of",
]

def as_offset(offset: Any) -> Offset:
    """Return ``offset`` as an :class:`Offset`; ``None`` gives ``Offset(0, 1)``.

    Accepted: an :class:`Offset`; any object with integer ``left`` and
    ``right`` attributes, such as the ``cebra.data.Offset`` that CEBRA's
    models return from ``get_offset()`` (converted, values unchanged); an
    integer (symmetric); a ``(left, right)`` tuple.

    Raises:
        TypeError: for anything else.
        ValueError: for invalid bounds (see :class:`Offset`).
    """
    if offset is None:
        return Offset(0, 1)
    if isinstance(offset, Offset):
        return offset
    if hasattr(offset, "left") and hasattr(offset, "right"):
        return Offset(offset.left, offset.right)
    if isinstance(offset, (tuple, list)):
        return Offset(*offset)
    if isinstance(offset, (int, np.integer)) and not isinstance(offset, bool):
        return Offset(int(offset))
    raise TypeError(
        "Invalid offset: offset should be a cebra_data.Offset (or any object with left and "
        "right, such as cebra.data.Offset), an integer or a (left, right) tuple, "
        f"but got {offset!r} of type {type(offset).__name__}."
    )


# -- datasets with CEBRA's interface (duck typing) ---------------------------------

_SINGLE_SESSION_INTERFACE = ("__len__", "__getitem__", "load_batch", "offset")
_MULTISESSION_INTERFACE = ("num_sessions", "get_session", "load_batch")


def _has(obj: Any, name: str) -> bool:
    """Whether ``obj`` has ``name`` (methods looked up on the class, as Python does)."""
    if name.startswith("__"):
        return callable(getattr(type(obj), name, None))
    try:
        value = getattr(obj, name, None)
    except NotImplementedError:
        return False
    if name == "offset":
        return hasattr(value, "left") and hasattr(value, "right")
    if name == "num_sessions":
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return callable(value)


def _missing(obj: Any, names: Tuple[str, ...]) -> List[str]:
    return [name for name in names if not _has(obj, name)]


def is_multisession_like(obj: Any) -> bool:
    """Whether ``obj`` has the multi-session dataset interface of ``cebra.data``.

    That is an integer ``num_sessions``, ``get_session(i)`` and
    ``load_batch``: our :class:`~cebra_data.MultiSessionDataset` and CEBRA's
    ``MultiSessionDataset``/``DatasetCollection``/``UnifiedDataset`` alike.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection
        >>> from cebra_data.base import is_multisession_like
        >>> session = TensorDataset(torch.zeros(5, 2), continuous=torch.zeros(5, 1))
        >>> is_multisession_like(DatasetCollection([session])), is_multisession_like(session)
        (True, False)
    """
    return not _missing(obj, _MULTISESSION_INTERFACE)


def is_dataset_like(obj: Any) -> bool:
    """Whether a loader can draw from ``obj``: a dataset with ``cebra.data``'s interface.

    Single-session: ``__len__``, ``__getitem__``, ``load_batch`` and an
    ``offset`` with ``left`` and ``right``. Multi-session: see
    :func:`is_multisession_like`. Every :class:`cebra_data.Dataset` is
    dataset-like, and so are the dataset classes of CEBRA itself; what such
    a dataset lacks is computed (see :func:`sample_mask_of`).

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset
        >>> from cebra_data.base import is_dataset_like
        >>> data = TensorDataset(torch.zeros(5, 2), continuous=torch.zeros(5, 1))
        >>> is_dataset_like(data), is_dataset_like(torch.zeros(5, 2))
        (True, False)
    """
    return isinstance(obj, Dataset) or is_multisession_like(obj) or not _missing(
        obj, _SINGLE_SESSION_INTERFACE
    )


def _as_batch(batch: Any) -> Any:
    """A foreign batch-like object as a :class:`~cebra_data.Batch`; anything else unchanged."""
    if isinstance(batch, (Batch, BatchIndex)) or not all(
        hasattr(batch, name) for name in ("reference", "positive", "negative")
    ):
        return batch
    return Batch.from_batch_like(batch)


def _interface_gaps(obj: Any) -> str:
    """Say which parts of the dataset interface ``obj`` lacks (for error messages)."""
    single = _missing(obj, _SINGLE_SESSION_INTERFACE)
    multi = _missing(obj, _MULTISESSION_INTERFACE)
    return (
        f"it lacks {', '.join(single)} for a single-session dataset and "
        f"{', '.join(multi)} for a multi-session dataset"
    )


def offset_key_of(dataset: Any) -> Any:
    """A value that changes exactly when the windows of ``dataset`` change.

    For a :class:`cebra_data.Dataset` its (immutable) :attr:`~cebra_data.Dataset.offset`;
    for a foreign single-session dataset its offset compared by value (CEBRA's
    ``Offset`` is mutable and compares by identity); for a foreign
    multi-session dataset the tuple of its sessions' offsets. Loaders rebuild
    their distributions when it changes.

    Example:
        >>> from cebra_data.base import offset_key_of
        >>> class CebraOffset:          # mutable, no __eq__, like cebra.data.Offset
        ...     def __init__(self, left, right):
        ...         self.left, self.right = left, right
        >>> offset_key_of(type("D", (), {"offset": CebraOffset(2, 3)})())
        Offset(left=2, right=3, length=5)
    """
    if isinstance(dataset, Dataset):
        return dataset.offset
    if is_multisession_like(dataset):
        return tuple(
            as_offset(dataset.get_session(i).offset) for i in range(int(dataset.num_sessions))
        )
    return as_offset(dataset.offset)


def as_index_tensor(index: Any, name: str = "index", device: Optional[str] = None) -> torch.Tensor:
    """Return ``index`` as a 1-D ``torch.long`` tensor (numpy arrays and lists accepted).

    A single integer -- a Python or numpy integer, or a 0-d integer tensor or
    array -- becomes an index of one element, so ``dataset[5]``,
    ``dataset[np.int64(5)]`` and ``dataset[torch.tensor(5)]`` give the same
    ``(1, input_dimension, len(offset))`` window.

    Raises:
        TypeError: for another type, or a float, complex or boolean dtype.
        ValueError: for an array of more than one dimension.
    """
    if isinstance(index, torch.Tensor):
        tensor = index
    elif isinstance(index, (np.ndarray, list, tuple, range)):
        tensor = torch.as_tensor(np.asarray(index))
    elif isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        tensor = torch.tensor([int(index)])
    else:
        raise TypeError(
            f"{name} should be a 1-D tensor of integer indices, but got {type(index).__name__}."
        )
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(
            f"{name} should hold integer indices, but got dtype {tensor.dtype}. "
            "Boolean masks are not indices: use mask.nonzero().flatten()."
        )
    if tensor.ndim == 0:
        tensor = tensor.reshape(1)  # one integer, as an int is
    if tensor.ndim != 1:
        raise ValueError(f"{name} should be 1-D, but got shape {tuple(tensor.shape)}.")
    if tensor.dtype != torch.long:
        tensor = tensor.long()
    if device is not None and str(tensor.device) != device:
        tensor = tensor.to(device)
    return tensor


def _unpickle_by_value(data: bytes, shared: Optional[dict] = None) -> Any:
    function, arguments, state = pickle.loads(data)
    obj = function(*arguments)
    if state:
        obj.__dict__.update(state)
    if shared:
        obj.__dict__.update(shared)
    return obj


class PickledByValue:
    """Mixin: an object pickles as one plain pickle of its state (tensors by value).

    Multiprocessing with ``spawn`` sends a ``DataLoader``'s dataset to each
    worker through torch's ``ForkingPickler``, which shares every tensor's
    storage through a file descriptor; two tensors viewing one storage then
    hand the same descriptor twice and the worker fails to start ("bad
    value(s) in fds_to_keep"). Pickling the state with the standard pickler
    first copies each storage once and works with every sharing strategy.
    The attributes named in :attr:`_shared_attributes` are the exception: they
    are pickled beside that state, by the pickler at hand, so memory meant to
    be shared with the workers (a :class:`~cebra_data.seeding.SharedEpoch`)
    stays shared.
    """

    #: Attributes pickled with the caller's pickler instead of by value.
    _shared_attributes: ClassVar[Tuple[str, ...]] = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        function, arguments, state = object.__reduce_ex__(self, protocol)[:3]
        shared = {}
        if self._shared_attributes and isinstance(state, dict):
            state = dict(state)
            shared = {k: state.pop(k) for k in self._shared_attributes if k in state}
        blob = pickle.dumps((function, arguments, state), protocol)
        return (_unpickle_by_value, (blob, shared)) if shared else (_unpickle_by_value, (blob,))


class Dataset(PickledByValue, abc.ABC, HasDevice, MaskedMixin):
    """Abstract base class of every dataset.

    A dataset holds a signal (e.g. neural activity) and, optionally, the
    labels that distributions sample from: a :attr:`continuous_index` and/or a
    :attr:`discrete_index`. Indexing with a tensor of time indices returns data
    windows of shape ``(len(index), input_dimension, len(offset))``.

    Args:
        device: device of the dataset's tensors.
        download: fetch ``data_url`` into ``location`` before use (see
            :func:`cebra_data.io.download.download_file`).
        data_url: the URL to download from; required when ``download=True``.
        data_checksum: the file's expected checksum; required when ``download=True``.
        gzipped_checksum: the MD5 of the gzip file served at ``data_url``, for
            data stored compressed: it is downloaded as ``file_name + ".gz"``,
            checked, extracted, checked against ``data_checksum`` and removed
            (``file_name`` is then required).
        location: the folder to download into.
        file_name: the name to store the file under; by default taken from
            the server's response.

    The window shape is set by :attr:`offset` (default ``Offset(0, 1)``),
    directly or with :meth:`configure_for`.
    """

    def __init__(
        self,
        device: DeviceLike = "cpu",
        download: bool = False,
        data_url: Optional[str] = None,
        data_checksum: Optional[str] = None,
        gzipped_checksum: Optional[str] = None,
        location: Optional[str] = None,
        file_name: Optional[str] = None,
    ) -> None:
        HasDevice.__init__(self, device)
        self._offset = Offset(0, 1)
        self.download = download
        self.data_url = data_url
        self.data_checksum = data_checksum
        self.gzipped_checksum = gzipped_checksum
        self.location = location
        self.file_name = file_name
        self.downloaded_file = None
        if download:
            if data_url is None:
                raise ValueError(
                    "download=True needs data_url, the address of the file to download, "
                    "but got data_url=None."
                )
            if data_checksum is None:
                raise ValueError(
                    "download=True needs data_checksum, the expected checksum of the file, "
                    "but got data_checksum=None. It protects you from truncated or altered files."
                )
            if location is None:
                raise ValueError(
                    "download=True needs location, the folder to store the file in, "
                    "but got location=None."
                )
            self.downloaded_file = self._download()

    def _download(self) -> Any:
        """Fetch ``data_url`` into ``location`` (see the class arguments)."""
        if self.gzipped_checksum is None:
            return download_file(
                self.data_url, checksum=self.data_checksum, location=self.location,
                file_name=self.file_name,
            )
        if self.file_name is None:
            raise ValueError(
                "gzipped_checksum needs file_name, the name of the extracted file, but got "
                "file_name=None."
            )
        target = pathlib.Path(self.location) / self.file_name
        if target.is_file() and file_checksum(target) == self.data_checksum:
            return target
        archive = download_file(
            self.data_url, checksum=self.gzipped_checksum, location=self.location,
            file_name=f"{self.file_name}.gz",
        )
        try:
            extract_gzip(archive, target, self.data_checksum)
        finally:
            archive.unlink(missing_ok=True)
        return target

    # -- offset ---------------------------------------------------------------

    @property
    def offset(self) -> Offset:
        """The window around each index, see :class:`~cebra_data.Offset`."""
        return self._offset

    @offset.setter
    def offset(self, offset: Any) -> None:
        offset = as_offset(offset)
        self._check_offset_fits(offset)
        self._offset = offset

    def _check_offset_fits(self, offset: Offset) -> None:
        """Raise if the recording is too short for ``offset``; overridden where length is known."""

    def configure_for(self, model: Any) -> None:
        """Set :attr:`offset` from ``model.get_offset()``.

        Call this before indexing the dataset for a model whose receptive field
        spans several time steps.

        Raises:
            TypeError: if ``model`` has no ``get_offset`` method.
        """
        get_offset = getattr(model, "get_offset", None)
        if not callable(get_offset):
            raise TypeError(
                "configure_for expects a model with a get_offset() method returning an "
                f"Offset, but got {type(model).__name__}."
            )
        offset = get_offset()
        if offset is None:
            raise TypeError(
                f"configure_for expects {type(model).__name__}.get_offset() to return an Offset, "
                "but it returned None. Return the model's receptive field, e.g. Offset(5, 5)."
            )
        self.offset = offset

    # -- labels ---------------------------------------------------------------

    @property
    @abc.abstractmethod
    def input_dimension(self) -> int:
        """The signal's feature dimension (e.g. the number of neurons)."""

    @property
    def continuous_index(self) -> Optional[torch.Tensor]:
        """The continuous index ``(N, d)`` (float32), or ``None`` if the dataset has none."""
        return None

    @property
    def discrete_index(self) -> Optional[torch.Tensor]:
        """The discrete index ``(N,)`` (int64), or ``None`` if the dataset has none."""
        return None

    @property
    def trial_ids(self) -> Optional[torch.Tensor]:
        """Per-sample trial ids ``(N,)`` in contiguous blocks, or ``None`` without trials."""
        return None

    # -- windows --------------------------------------------------------------

    def expand_index(self, index: torch.Tensor) -> torch.Tensor:
        """Expand time indices into the windows given by :attr:`offset`.

        Returns ``expanded[i, j] = index[i] + j - offset.left`` for
        ``j = 0 .. len(offset) - 1``, shape ``(len(index), len(offset))``.

        Edge rule (kept from ``cebra.data`` for compatibility): an index whose
        window would leave the recording is first moved to the nearest index
        with a full window, i.e. clamped into ``[offset.left, N - offset.right]``.
        This is what lets ``dataset[torch.arange(len(dataset))]`` embed every
        time step. The loaders never rely on it: they only draw indices whose
        window fits (see :meth:`sample_mask`). Indices outside ``[0, N)`` are an
        error, never clamped.

        Args:
            index: 1-D integer tensor of time indices.

        Raises:
            IndexError: for an index outside ``[0, N)``.

        Example:
            >>> import torch
            >>> from cebra_data import TensorDataset, Offset
            >>> ds = TensorDataset(torch.zeros(10, 2), continuous=torch.zeros(10, 1))
            >>> ds.offset = Offset(1, 2)
            >>> ds.expand_index(torch.tensor([0, 5, 9]))
            tensor([[0, 1, 2],
                    [4, 5, 6],
                    [7, 8, 9]])
        """
        start = self._window_start(index)
        return start[:, None] + torch.arange(len(self.offset), device=start.device)[None, :]

    def _window_start(self, index: Any) -> torch.Tensor:
        """First sample of each index's window after applying the edge rule."""
        index = as_index_tensor(index)
        n = len(self)
        if index.numel() > 0:
            low, high = (int(value) for value in torch.aminmax(index))  # one pass over the index
            if low < 0 or high >= n:
                bad = low if low < 0 else high
                raise IndexError(
                    f"index {bad} is out of range for a recording of {n} samples "
                    f"(valid indices are 0 .. {n - 1})."
                )
        left, right = self.offset
        return index.clamp(left, n - right) - left

    def expand_index_in_trial(
        self,
        index: torch.Tensor,
        trial_ids: torch.Tensor,
        trial_borders: torch.Tensor,
    ) -> torch.Tensor:
        """Expand indices into windows that stay inside each sample's trial.

        Same formula and edge rule as :meth:`expand_index`, except that an index
        is moved to the nearest index whose window lies inside its own trial:
        it is clamped into
        ``[trial_borders[t] + offset.left, trial_borders[t + 1] - offset.right]``
        where ``t = trial_ids[index]``. Fully vectorised.

        Args:
            index: 1-D integer tensor of time indices.
            trial_ids: ``(N,)`` trial number of every sample (``0 .. T-1``).
            trial_borders: ``(T + 1,)`` start of every trial followed by the
                recording length, so trial ``t`` spans
                ``trial_borders[t] .. trial_borders[t + 1] - 1``.

        Raises:
            IndexError: for an index outside ``[0, N)``.
            ValueError: if the trial of an index is shorter than ``len(offset)``,
                or if ``trial_borders`` does not fit ``trial_ids``.

        Example:
            >>> import torch
            >>> from cebra_data import TensorDataset
            >>> ds = TensorDataset(torch.zeros(8, 2), continuous=torch.zeros(8, 1), offset=(1, 2))
            >>> trial_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
            >>> borders = torch.tensor([0, 4, 8])
            >>> ds.expand_index_in_trial(torch.tensor([3, 4]), trial_ids, borders)
            tensor([[1, 2, 3],
                    [4, 5, 6]])
        """
        index = as_index_tensor(index)
        trial_ids = as_index_tensor(trial_ids, "trial_ids", device=str(index.device))
        trial_borders = as_index_tensor(trial_borders, "trial_borders", device=str(index.device))
        n = trial_ids.numel()
        if index.numel() > 0 and (int(index.min()) < 0 or int(index.max()) >= n):
            bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
            raise IndexError(
                f"index {bad} is out of range for trial_ids of length {n} "
                f"(valid indices are 0 .. {n - 1})."
            )
        num_trials = trial_borders.numel() - 1
        trial = trial_ids[index]
        if trial.numel() > 0 and (int(trial.min()) < 0 or int(trial.max()) >= num_trials):
            raise ValueError(
                f"trial_ids refer to trials 0 .. {int(trial.max())}, but trial_borders "
                f"({trial_borders.numel()} entries) describe only {num_trials} trials."
            )
        left, right = self.offset
        low = trial_borders[trial] + left
        high = trial_borders[trial + 1] - right
        too_short = low > high
        if bool(too_short.any()):
            first = int(too_short.nonzero()[0, 0])
            t = int(trial[first])
            length = int(trial_borders[t + 1] - trial_borders[t])
            raise ValueError(
                f"index {int(index[first])} lies in trial {t} of {length} samples, which is "
                f"shorter than the window of {len(self.offset)} samples ({self.offset!r}). "
                "Use a smaller offset or drop trials shorter than the window."
            )
        start = torch.minimum(torch.maximum(index, low), high) - left
        return start[:, None] + torch.arange(len(self.offset), device=start.device)[None, :]

    def sample_mask(self) -> torch.Tensor:
        """Boolean ``(N,)`` mask of the time steps a loader may return.

        ``True`` where the whole offset window lies inside the recording (and
        inside one trial, for datasets with :attr:`trial_ids`) and the sample is
        not excluded (e.g. a missing continuous label). Loaders draw references,
        positives and negatives only from this set, so no window is ever clamped.
        """
        return window_mask(
            len(self), self.offset, trial_ids=self.trial_ids, excluded=self.excluded_mask,
            device=self.device,
        )

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """Boolean ``(N,)`` mask of samples excluded from sampling, or ``None``."""
        return None

    def describe(self, as_text: bool = False) -> Any:
        """Summarise the dataset; see :func:`cebra_data.describe`.

        Args:
            as_text: return the readable text instead of the summary dict.
        """
        return describe(self, as_text=as_text)

    @abc.abstractmethod
    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        """Return the windows at ``index``, shape ``(len(index), input_dimension, len(offset))``."""

    @abc.abstractmethod
    def load_batch(self, index: BatchIndex) -> Any:
        """Gather the data windows for a :class:`~cebra_data.BatchIndex`."""


@dataclasses.dataclass
class Loader(PickledByValue, abc.ABC, HasDevice, torch.utils.data.IterableDataset):
    """Base class of every loader: composes distributions with a dataset.

    The fields are ``cebra.data.Loader``'s, in its order and with its
    defaults, so positional arguments mean what they mean in CEBRA; our
    additions are keyword-only. Iterating over a loader yields ``num_steps``
    batches, each ``dataset.load_batch(self.get_indices(batch_size))``.

    The base class owns what every sampling loader shares: the loader's
    ``torch.Generator`` (from ``seed``), the child seeds of its distributions
    (:meth:`_child_seed`, drawn in construction order), uniform draws from a
    support (:meth:`_draw`), the number of references and negatives of a batch
    (:meth:`_num_samples`, :meth:`_num_negatives`), registered conditionals
    (:meth:`_make_conditional`) and offset tracking: distributions are built
    by :meth:`_build` for the dataset's offset and rebuilt, before the next
    batch, when the offset changes (e.g. after ``dataset.configure_for(model)``),
    so every window keeps fitting. A subclass says only what differs:
    :meth:`_check_configuration`, :meth:`_build` and :meth:`get_indices`.

    Every loader is a ``torch.utils.data.IterableDataset``: in
    ``DataLoader(loader, batch_size=None, num_workers=W)`` the ``num_steps``
    batches are split among the workers (and among the ranks of
    ``torch.distributed``), each drawing its own stream derived from
    ``(seed, shard)``; see :meth:`shard` and :meth:`set_epoch`.

    Args:
        dataset: the dataset to draw from.
        time_offset: the time lag of the ``"time"`` and ``"time_delta"``
            conditionals (loaders that use no lag accept and ignore it, as in
            CEBRA).
        num_steps: the number of batches an iteration yields.
        batch_size: the number of references per batch (``None`` where a
            loader supports full-batch training).
        seed: keyword-only; seed of the loader's random generator. The same
            seed and data give the identical stream of batches, in any
            process; ``None`` draws fresh entropy from the operating system
            (never from a global random state).
        rank: keyword-only, with ``world_size``: this process's rank among
            ``world_size`` data-parallel processes. By default taken from
            ``torch.distributed`` when it is initialised, else ``0`` of ``1``.
        world_size: keyword-only; see ``rank``.
        num_negatives: keyword-only; the number of negatives per batch.
            ``None`` (default) draws as many negatives as references; an integer
            draws that many from the prior, so the loss sees more (or fewer)
            negatives than the batch size (CEBRA's "decouple batch size and
            number of negatives").
    """

    dataset: Optional[Dataset] = None
    time_offset: int = 10
    num_steps: Optional[int] = None
    batch_size: Optional[int] = None
    seed: Optional[int] = dataclasses.field(default=None, kw_only=True)
    num_negatives: Optional[int] = dataclasses.field(default=None, kw_only=True)
    rank: Optional[int] = dataclasses.field(default=None, kw_only=True)
    world_size: Optional[int] = dataclasses.field(default=None, kw_only=True)

    #: Build the distributions at construction (``False``: before the first batch).
    _build_at_init: ClassVar[bool] = True
    #: The loader samples one session: a multi-session dataset is refused at construction.
    _single_session: ClassVar[bool] = False
    #: The epoch (see :meth:`set_epoch`) stays in memory shared with DataLoader workers.
    _shared_attributes: ClassVar[Tuple[str, ...]] = ("_epoch",)

    def __post_init__(self) -> None:
        if self.dataset is None or not is_dataset_like(self.dataset):
            raise TypeError(
                "dataset should be a cebra_data.Dataset (e.g. TensorDataset) or an object with "
                "the dataset interface of cebra.data (__len__, __getitem__, load_batch and an "
                "offset with left and right; or num_sessions, get_session and load_batch for "
                f"several sessions), but got {type(self.dataset).__name__}: "
                f"{_interface_gaps(self.dataset)}."
            )
        if self._single_session and is_multisession_like(self.dataset):
            raise TypeError(
                f"{type(self).__name__} samples one session, but got the multi-session "
                f"{type(self.dataset).__name__} with {self.dataset.num_sessions} sessions. Use a "
                "multi-session loader (e.g. ContinuousMultiSessionDataLoader), or pass one "
                "session (dataset.get_session(i))."
            )
        check_holds_values(getattr(self.dataset, "device", None), "a loader")
        self.time_offset = check_int(self.time_offset, "time_offset", minimum=0)
        self.num_steps = check_positive_int(self.num_steps, "num_steps")
        if self.batch_size is not None:
            self.batch_size = check_positive_int(self.batch_size, "batch_size")
        if self.seed is not None:
            self.seed = check_int(self.seed, "seed", minimum=0)
        if self.num_negatives is not None:
            self.num_negatives = check_positive_int(self.num_negatives, "num_negatives")
        self._check_rank()
        self._epoch = SharedEpoch()  # shared with DataLoader workers (set_epoch)
        self._check_configuration()
        self._init_generators(self.seed)
        self._built_for: Any = None
        if self._build_at_init:
            self._refresh()

    # -- what subclasses say -----------------------------------------------------

    def _check_configuration(self) -> None:
        """Validate names and required indices (cheap, before any distribution is built)."""

    def _build(self) -> None:
        """Create the distributions for the dataset's current offset."""

    @abc.abstractmethod
    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw the indices of one batch of ``num_samples`` references."""

    # -- shared machinery ----------------------------------------------------------

    def _init_generators(self, seed: Optional[int]) -> None:
        """Create the loader's generator from ``seed``."""
        self._generator = as_generator(seed)

    def _reseed_children(self) -> None:
        """Re-derive seeds a subclass stored outside :meth:`_build` (after a re-seed)."""

    def _refresh(self) -> None:
        """(Re)build the distributions if the dataset's offset changed since the last build.

        Offsets are compared by value (:func:`offset_key_of`), so a foreign
        dataset whose mutable offset is changed in place is noticed too.
        """
        if getattr(self.dataset, "offset", None) is self._built_for is not None:
            return  # the same (immutable) Offset object: nothing changed
        offset = offset_key_of(self.dataset)
        if offset is not self._built_for and offset != self._built_for:
            self._build()
            self._built_for = offset

    def _child_seed(self) -> int:
        """A seed for a distribution of this loader, drawn from its generator."""
        return derive_seed(self._generator)

    def _draw(self, support: torch.Tensor, num_samples: int) -> torch.Tensor:
        """``num_samples`` entries of ``support``, uniformly with replacement."""
        pick = torch.randint(0, len(support), (num_samples,), generator=self._generator)
        return support.index_select(0, pick.to(support.device))  # = support[pick], faster

    @staticmethod
    def _draw_batch(
        distribution: Any, num_samples: int, num_negatives: int
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reference, positive, negative)`` from a joint distribution.

        References and negatives are one prior draw split in two (as in CEBRA),
        positives the conditional of the references; a distribution of this
        package does it in its ``_sample_batch`` (the same draws, faster).
        """
        sample_batch = getattr(distribution, "_sample_batch", None)
        if sample_batch is not None:
            return sample_batch(num_samples, num_negatives)
        return split_prior_batch(distribution, num_samples, num_negatives)

    def _num_samples(self, num_samples: Optional[int]) -> int:
        """The number of references of a batch: ``num_samples``, by default :attr:`batch_size`."""
        if num_samples is None:
            num_samples = self.batch_size
        if num_samples is None:
            raise ValueError(
                f"{type(self).__name__} needs a batch size: set batch_size or pass num_samples "
                "to get_indices, but both are None."
            )
        return check_positive_int(num_samples, "num_samples")

    def _num_negatives(self, num_samples: int) -> int:
        """The number of negatives of a batch of ``num_samples`` references."""
        return num_samples if self.num_negatives is None else self.num_negatives

    def _require_index(self, kind: str, why: str = "") -> None:
        """Raise :class:`~cebra_data.errors.MissingIndexError` if the dataset lacks a ``kind`` index."""
        if index_of(self.dataset, kind) is None:
            who = f"{type(self).__name__} {why}" if why else type(self).__name__
            raise MissingIndexError(
                f"{who} needs a dataset with a {kind} index, but "
                f"{type(self.dataset).__name__}.{kind}_index is None. Pass {kind}=... when "
                "building the dataset, or choose another loader."
            )

    def _make_conditional(
        self, name: str, valid: torch.Tensor, trial_ids: Optional[torch.Tensor]
    ) -> JointDistribution:
        """The registered conditional ``name`` on the dataset's continuous index.

        Uses the loader's ``time_offset`` and ``delta`` (``0.1`` for loaders
        without one) and a seed derived from the loader's generator.
        """
        check_time_offset_for(name, self.time_offset)
        return make_conditional(
            name,
            continuous=index_of(self.dataset, "continuous"),
            num_samples=len(self.dataset),
            time_offset=self.time_offset,
            delta=getattr(self, "delta", 0.1),
            device=self.device,
            seed=self._child_seed(),
            valid=valid,
            trial_ids=trial_ids,
        )

    # -- iteration and device --------------------------------------------------------

    @property
    def device(self) -> Optional[str]:
        """The device of the loader's dataset."""
        return self.dataset.device if self.dataset is not None else None

    def to(self, device: DeviceLike) -> "Loader":
        """Move the dataset and every tensor of the loader to ``device``."""
        check_holds_values(normalize_device(device), "a loader")
        HasDevice.to(self, device)
        return self

    def __len__(self) -> int:
        """The number of batches an iteration yields."""
        return self.num_steps

    def __iter__(self) -> Iterator[Batch]:
        """Yield this process's share of the ``num_steps`` batches (see :meth:`shard`)."""
        shard, num_shards = self._start_stream()
        for _ in range(shard, len(self), num_shards):
            yield self._next_batch()

    def _next_batch(self) -> Any:
        """One batch of the stream: ``dataset.load_batch(get_indices(batch_size))``.

        A foreign dataset's batches (e.g. ``cebra.data.Batch``, or a list of
        them for several sessions) are returned as :class:`~cebra_data.Batch`
        objects holding the same tensors, so a loader always yields ours.
        """
        batch = self.dataset.load_batch(self.get_indices(self.batch_size))
        if isinstance(self.dataset, Dataset):
            return batch
        if isinstance(batch, list):
            return [_as_batch(item) for item in batch]
        return _as_batch(batch)

    # -- workers, ranks and epochs ---------------------------------------------------

    def _check_rank(self) -> None:
        if (self.rank is None) != (self.world_size is None):
            raise ValueError(
                "rank and world_size go together: pass both or neither, but got "
                f"rank={self.rank!r}, world_size={self.world_size!r}."
            )
        if self.world_size is not None:
            self.world_size = check_positive_int(self.world_size, "world_size")
            self.rank = check_int(self.rank, "rank", minimum=0)
            if self.rank >= self.world_size:
                raise ValueError(
                    f"rank should be in 0 .. world_size - 1 = {self.world_size - 1}, but got "
                    f"rank={self.rank}."
                )

    def rank_and_world_size(self) -> Tuple[int, int]:
        """``(rank, world_size)``: the explicit fields, else ``torch.distributed``'s, else ``(0, 1)``."""
        if self.world_size is not None:
            return self.rank, self.world_size
        distributed = torch.distributed
        if distributed.is_available() and distributed.is_initialized():
            return distributed.get_rank(), distributed.get_world_size()
        return 0, 1

    def shard(self) -> Tuple[int, int]:
        """``(shard, num_shards)`` of the current process: one shard per rank and worker.

        Inside a ``torch.utils.data.DataLoader`` worker (``num_workers=W``) of
        rank ``r`` (of ``R``), the shard is ``r * W + worker_id`` of ``R * W``;
        in a plain process it is ``(0, 1)``. Iterating yields the steps
        ``shard, shard + num_shards, ...`` of ``range(num_steps)``, so the
        shards together yield exactly ``num_steps`` batches.
        """
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rank, world = self.rank_and_world_size()
        return rank * workers + worker, world * workers

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration's stream a function of ``(seed, epoch, shard)``.

        As ``torch.utils.data.distributed.DistributedSampler.set_epoch``: worker
        processes start from a copy of the loader, so without it every epoch
        of a ``DataLoader`` with workers would repeat the same batches. Call it
        at the start of every epoch. The epoch lives in shared memory
        (:class:`~cebra_data.seeding.SharedEpoch`), so it also reaches the
        workers of ``DataLoader(..., persistent_workers=True)``, which keep
        their copy of the loader from one epoch to the next.

        Args:
            epoch: an integer in ``[0, 2**63 - 1]`` (0-d integer tensors and
                numpy integers are accepted).

        Raises:
            TypeError: for a value that is not an integer (``bool`` included).
            ValueError: for an integer outside ``[0, 2**63 - 1]``.
        """
        self._epoch.set(check_int(epoch, "epoch"))  # the holder checks the range

    def _start_stream(self) -> Tuple[int, int]:
        """Seed this process's stream and return ``(shard, num_shards)``.

        One process without :meth:`set_epoch` continues the loader's own stream
        (the behaviour of a loader outside any ``DataLoader``). Otherwise the
        loader and all its distributions are re-seeded from
        ``(seed, shard, epoch)``, so shards never repeat each other's batches
        and the same seed, shard count and epoch give the same batches.
        """
        shard, num_shards = self.shard()
        epoch = self._epoch.get()
        if num_shards > 1 or epoch is not None:
            base = self.seed if self.seed is not None else derive_seed(self._generator)
            self._init_generators(stream_seed(base, shard, epoch or 0))
            self._reseed_children()
            self._built_for = None
        return shard, num_shards
