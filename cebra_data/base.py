"""Abstract bases for datasets and loaders, and the shared device handling.

Data flows one way: a :class:`Loader` asks a distribution for a
:class:`~cebra_data.BatchIndex`, then hands it to :meth:`Dataset.load_batch`,
which gathers the data windows into a :class:`~cebra_data.Batch`. Datasets
never sample and loaders never touch data themselves.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Iterator, Optional, Union

import numpy as np
import torch

from cebra_data._validation import check_int, check_positive_int
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.masking import MaskedMixin

__all__ = ["HasDevice", "Dataset", "Loader", "as_offset", "as_index_tensor"]

DeviceLike = Union[str, torch.device]


def _normalize_device(device: DeviceLike) -> str:
    """Return the canonical string of ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""
    if isinstance(device, torch.device):
        return str(device)
    if not isinstance(device, str):
        raise TypeError(
            f"device should be a string such as 'cpu' or 'cuda', or a torch.device, "
            f"but got {device!r} of type {type(device).__name__}."
        )
    try:
        return str(torch.device(device))
    except RuntimeError as err:
        raise ValueError(
            f"device should name a torch device such as 'cpu' or 'cuda:0', but got {device!r}."
        ) from err


def _move(value: Any, device: str) -> Any:
    """Move tensors (also inside lists, tuples, dicts and HasDevice objects) to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, HasDevice):
        return value.to(device)
    if isinstance(value, list):
        return [_move(v, device) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_move(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _move(v, device) for k, v in value.items()}
    return value


class HasDevice:
    """Mixin for objects that hold tensors on one device (as ``cebra.io.HasDevice``).

    ``.to(device)`` moves every tensor the object holds -- attributes, and
    tensors inside lists, tuples, dicts and nested :class:`HasDevice` objects --
    and returns the object itself.

    Args:
        device: the device the object's tensors live on, e.g. ``"cpu"``.

    Example:
        >>> import torch
        >>> from cebra_data import HasDevice
        >>> class Holder(HasDevice):
        ...     def __init__(self):
        ...         super().__init__("cpu")
        ...         self.values = torch.zeros(3)
        >>> Holder().to("cpu").device
        'cpu'
    """

    def __init__(self, device: Optional[DeviceLike] = None) -> None:
        self._device = _normalize_device(device) if device is not None else None

    @property
    def device(self) -> Optional[str]:
        """The device of the object's tensors, as a string."""
        return getattr(self, "_device", None)

    @device.setter
    def device(self, device: DeviceLike) -> None:
        self.to(device)

    def to(self, device: DeviceLike) -> "HasDevice":
        """Move every tensor the object holds to ``device`` and return ``self``."""
        device = _normalize_device(device)
        for name, value in list(vars(self).items()):
            if name == "_device":
                continue
            moved = _move(value, device)
            if moved is not value:
                object.__setattr__(self, name, moved)
        object.__setattr__(self, "_device", device)
        return self


def as_offset(offset: Any) -> Offset:
    """Return ``offset`` as an :class:`Offset`; ``None`` gives ``Offset(0, 1)``.

    Integers and ``(left, right)`` tuples are accepted for convenience.
    """
    if offset is None:
        return Offset(0, 1)
    if isinstance(offset, Offset):
        return offset
    if isinstance(offset, (tuple, list)):
        return Offset(*offset)
    if isinstance(offset, (int, np.integer)) and not isinstance(offset, bool):
        return Offset(int(offset))
    raise TypeError(
        "offset should be a cebra_data.Offset, an integer or a (left, right) tuple, "
        f"but got {offset!r} of type {type(offset).__name__}."
    )


def as_index_tensor(index: Any, name: str = "index", device: Optional[str] = None) -> torch.Tensor:
    """Return ``index`` as a 1-D ``torch.long`` tensor (numpy arrays and lists accepted)."""
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
    if tensor.ndim != 1:
        raise ValueError(f"{name} should be 1-D, but got shape {tuple(tensor.shape)}.")
    if tensor.dtype != torch.long:
        tensor = tensor.long()
    if device is not None and str(tensor.device) != device:
        tensor = tensor.to(device)
    return tensor


class Dataset(abc.ABC, HasDevice, MaskedMixin):
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
        location: Optional[str] = None,
        file_name: Optional[str] = None,
    ) -> None:
        HasDevice.__init__(self, device)
        self._offset = Offset(0, 1)
        self.download = download
        self.data_url = data_url
        self.data_checksum = data_checksum
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
            from cebra_data.io.download import download_file

            self.downloaded_file = download_file(
                data_url, checksum=data_checksum, location=location, file_name=file_name
            )

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
        self.offset = get_offset()

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
            low, high = int(index.min()), int(index.max())
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
        n = len(self)
        left, right = self.offset
        trial_ids = self.trial_ids
        if trial_ids is None:
            mask = torch.zeros(n, dtype=torch.bool, device=self.device)
            mask[left : max(n - right + 1, left)] = True
        else:
            position = torch.arange(n, device=trial_ids.device)
            new_trial = torch.ones(n, dtype=torch.bool, device=trial_ids.device)
            new_trial[1:] = trial_ids[1:] != trial_ids[:-1]
            starts = position[new_trial]
            lengths = torch.diff(torch.cat([starts, position.new_tensor([n])]))
            block = torch.cumsum(new_trial.long(), 0) - 1
            since_start = position - starts[block]
            until_end = starts[block] + lengths[block] - position
            mask = (since_start >= left) & (until_end >= right)
        excluded = self.excluded_mask
        if excluded is not None:
            mask &= ~excluded
        return mask

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """Boolean ``(N,)`` mask of samples excluded from sampling, or ``None``."""
        return None

    def describe(self, as_text: bool = False) -> Any:
        """Summarise the dataset; see :func:`cebra_data.describe`.

        Args:
            as_text: return the readable text instead of the summary dict.
        """
        from cebra_data.summary import describe

        return describe(self, as_text=as_text)

    @abc.abstractmethod
    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        """Return the windows at ``index``, shape ``(len(index), input_dimension, len(offset))``."""

    @abc.abstractmethod
    def load_batch(self, index: BatchIndex) -> Any:
        """Gather the data windows for a :class:`~cebra_data.BatchIndex`."""


@dataclasses.dataclass
class Loader(abc.ABC, HasDevice):
    """Base class of every loader: composes a distribution with a dataset.

    Iterating over a loader yields ``num_steps`` batches, each
    ``dataset.load_batch(self.get_indices(batch_size))``.

    Args:
        dataset: the dataset to draw from.
        num_steps: the number of batches an iteration yields.
        batch_size: the number of references per batch (``None`` where a
            loader supports full-batch training).
        seed: seed of the loader's random generator. The same seed and data
            give the identical stream of batches, in any process; ``None``
            draws fresh entropy from the operating system (never from a global
            random state).
    """

    dataset: Optional[Dataset] = None
    num_steps: Optional[int] = None
    batch_size: Optional[int] = None
    seed: Optional[int] = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.dataset is None or not isinstance(self.dataset, Dataset):
            raise TypeError(
                "dataset should be a cebra_data.Dataset (e.g. TensorDataset), but got "
                f"{type(self.dataset).__name__}."
            )
        self.num_steps = check_positive_int(self.num_steps, "num_steps")
        if self.batch_size is not None:
            self.batch_size = check_positive_int(self.batch_size, "batch_size")
        if self.seed is not None:
            self.seed = check_int(self.seed, "seed", minimum=0)

    @property
    def device(self) -> Optional[str]:
        """The device of the loader's dataset."""
        return self.dataset.device if self.dataset is not None else None

    def to(self, device: DeviceLike) -> "Loader":
        """Move the dataset and every tensor of the loader to ``device``."""
        HasDevice.to(self, device)
        return self

    def __len__(self) -> int:
        """The number of batches an iteration yields."""
        return self.num_steps

    def __iter__(self) -> Iterator[Batch]:
        for _ in range(len(self)):
            yield self.dataset.load_batch(self.get_indices(self.batch_size))

    @abc.abstractmethod
    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw the indices of one batch of ``num_samples`` references."""
