"""Multi-objective (xCEBRA) data: one dataset with named labels, two loaders.

xCEBRA trains one encoder with several objectives at once, e.g. one part of
the embedding contrasted on time, another on behaviour, and a supervised head
regressing a label. :class:`DatasetxCEBRA` holds the signal and any number of
named labels. Two loaders draw batches from it:

* :class:`SupervisedMultiObjectiveLoader` draws references shared by every
  objective; each batch carries the reference windows and the values of the
  configured labels at those references.
* :class:`ContrastiveMultiObjectiveLoader` draws references and negatives
  shared by every objective, and one batch of positives per configured
  distribution (``"time"``, ``"time_delta"``, ``"delta_normal"``, looked up in
  :data:`cebra_data.distributions.registry.CONDITIONALS`).

Every drawn index has its whole window inside the recording (see
:meth:`DatasetxCEBRA.sample_mask`), and a reference is drawn only where every
configured distribution can serve it, so positives are never clamped either.

Example:
    >>> import torch
    >>> from cebra_data import DatasetxCEBRA, ContrastiveMultiObjectiveLoader
    >>> gen = torch.Generator().manual_seed(0)
    >>> dataset = DatasetxCEBRA(torch.randn(500, 16, generator=gen),
    ...                         position=torch.randn(500, 2, generator=gen))
    >>> loader = ContrastiveMultiObjectiveLoader(dataset, num_steps=2, batch_size=32, seed=0)
    >>> loader.add_config({"distribution": "time", "kwargs": {"time_offset": 10}})
    >>> loader.add_config({"distribution": "time_delta",
    ...                    "kwargs": {"time_delta": 1, "label_name": "position"}})
    >>> batch = next(iter(loader))
    >>> batch.reference.shape, len(batch.positive), batch.negative.shape
    (torch.Size([32, 16, 1]), 2, torch.Size([32, 16, 1]))
"""

from __future__ import annotations

import dataclasses
from typing import (
    Any,
    ClassVar,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch

from cebra_data._validation import (
    check_choice,
    check_consistent_length,
    check_continuous,
    check_neural,
    check_positive_int,
)
from cebra_data.base import Loader, as_index_tensor
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.device import DeviceLike
from cebra_data.distributions.base import (
    JointDistribution,
    as_generator,
    derive_seed,
    sample_positives,
    spawn_generator,
)
from cebra_data.distributions.continuous import Prior  # noqa: F401  (re-exported as in cebra.data.multiobjective)
from cebra_data.distributions.registry import CONDITIONALS, make_conditional
from cebra_data.file_backed import gather_windows
from cebra_data.single_session import SingleSessionDataset

__all__ = [
    "DatasetxCEBRA",
    "MultiObjectiveLoader",
    "SupervisedMultiObjectiveLoader",
    "ContrastiveMultiObjectiveLoader",
    "SUPERVISED_SAMPLING_MODES",
    "CONTRASTIVE_SAMPLING_MODES",
]

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Values of ``SupervisedMultiObjectiveLoader.sampling_mode_supervised``.
SUPERVISED_SAMPLING_MODES: Tuple[str, ...] = ("ref_shared",)

#: Values of ``ContrastiveMultiObjectiveLoader.sampling_mode_contrastive``.
CONTRASTIVE_SAMPLING_MODES: Tuple[str, ...] = ("refneg_shared",)

#: Keys of a contrastive config's ``"kwargs"`` -> the argument of
#: :func:`~cebra_data.distributions.registry.make_conditional` they set.
#: ``"time_offset"`` (CEBRA's name for ``"time"``) and ``"time_delta"`` (its
#: name for ``"time_delta"``) both set the time lag.
_CONFIG_KWARGS: Dict[str, str] = {
    "time_offset": "time_offset",
    "time_delta": "time_offset",
    "delta": "delta",
    "label_name": "continuous",
}


def _validate_label(name: str, value: Any, n: int) -> torch.Tensor:
    """A label as a float32 ``(N, d)`` tensor; errors name the label."""
    try:
        return check_continuous(value, name, dtype=torch.float32, finite_or_nan=True)
    except (TypeError, ValueError) as err:
        raise type(err)(f"label {name!r} is not a valid continuous label: {err}") from err


class DatasetxCEBRA(SingleSessionDataset):
    """A single session with any number of named labels, for xCEBRA training.

    Windows follow the layout and edge rule of :class:`cebra_data.Dataset`:
    ``dataset[index]`` has shape ``(len(index), input_dimension, len(offset))``.
    Time steps where any label is ``NaN`` are excluded from sampling, like
    missing labels of :class:`cebra_data.TensorDataset`.

    Args:
        neural: the signal ``(N, D)``, validated as ``TensorDataset``'s
            (float32; NaN or infinite values are an error).
        device: the device to hold the tensors on.
        **labels: named labels, each ``(N, d)`` or ``(N,)`` (becomes
            ``(N, 1)``), stored as float32 in :attr:`labels`.

    Raises:
        TypeError: for non-array inputs or non-numeric dtypes.
        ValueError: for lengths that disagree, wrong numbers of dimensions,
            empty arrays, non-finite signal values or infinite label values.

    Example:
        >>> import torch
        >>> from cebra_data import DatasetxCEBRA
        >>> ds = DatasetxCEBRA(torch.randn(100, 30), position=torch.randn(100, 2),
        ...                    speed=torch.rand(100))
        >>> len(ds), ds.input_dimension, ds.labels["speed"].shape
        (100, 30, torch.Size([100, 1]))
        >>> ds.offset = (5, 5)
        >>> ds[torch.tensor([10, 20])].shape
        torch.Size([2, 30, 10])
    """

    def __init__(self, neural: ArrayLike, device: DeviceLike = "cpu", **labels: ArrayLike) -> None:
        super().__init__(device=device)
        neural_t, _ = check_neural(neural)
        labels_t = {name: _validate_label(name, value, len(neural_t)) for name, value in labels.items()}
        check_consistent_length(neural=neural_t, **labels_t)
        self.neural = neural_t.to(self.device)
        self.labels: Dict[str, torch.Tensor] = {
            name: value.to(self.device) for name, value in labels_t.items()
        }
        missing = torch.zeros(len(neural_t), dtype=torch.bool, device=self.device)
        for value in self.labels.values():
            missing |= torch.isnan(value).any(dim=1)
        self._excluded = missing if bool(missing.any()) else None
        self.offset = Offset(0, 1)

    def __len__(self) -> int:
        return self.neural.shape[0]

    @property
    def input_dimension(self) -> int:
        """The number of features (e.g. neurons) of the signal."""
        return self.neural.shape[1]

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """``True`` at time steps excluded from sampling (a NaN in any label), or ``None``."""
        return self._excluded

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        """Windows at ``index``: ``(len(index), input_dimension, len(offset))``.

        Indices near the borders follow the edge rule of
        :meth:`~cebra_data.Dataset.expand_index`; indices outside ``[0, N)``
        raise ``IndexError``.
        """
        start = self._window_start(index).to(self.neural.device)
        return gather_windows(self.neural, start, len(self.offset))

    def label(self, name: str) -> torch.Tensor:
        """The label ``name``, ``(N, d)``.

        Raises:
            cebra_data.errors.UnknownChoiceError: for a name that is not a
                label of the dataset (the message lists the labels).
        """
        return self.labels[check_choice(name, "label", self.labels)]

    def _gather(self, parts: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Windows of several index tensors with one indexing call, masked if masks are set."""
        windows = self.apply_mask(self[torch.cat(list(parts))])
        return list(windows.split([p.numel() for p in parts]))

    def load_batch_supervised(self, index: BatchIndex, labels_supervised: Sequence[str]) -> Batch:
        """Load the reference windows and the named labels at the references.

        Args:
            index: a :class:`~cebra_data.BatchIndex` with references only
                (``positive`` and ``negative`` are ``None``).
            labels_supervised: names of labels (a single name is accepted too).

        Returns:
            A :class:`~cebra_data.Batch` with ``reference`` the windows
            ``(batch, input_dimension, len(offset))``, ``positive`` a list with
            one ``(batch, d)`` tensor per name, and ``negative=None``.

        Raises:
            ValueError: if ``index`` has positives or negatives.
            cebra_data.errors.UnknownChoiceError: for an unknown label name.

        Example:
            >>> import torch
            >>> from cebra_data import BatchIndex, DatasetxCEBRA
            >>> ds = DatasetxCEBRA(torch.randn(50, 4), speed=torch.arange(50.0))
            >>> batch = ds.load_batch_supervised(BatchIndex(torch.tensor([3, 7]), None, None), ["speed"])
            >>> batch.reference.shape, batch.positive[0].flatten().tolist()
            (torch.Size([2, 4, 1]), [3.0, 7.0])
        """
        if index.positive is not None or index.negative is not None:
            raise ValueError(
                "load_batch_supervised expects a BatchIndex with references only "
                "(positive=None, negative=None), as SupervisedMultiObjectiveLoader draws."
            )
        if isinstance(labels_supervised, str):
            labels_supervised = [labels_supervised]
        values = [self.label(name) for name in labels_supervised]
        reference = as_index_tensor(index.reference, "reference", device=self.device)
        (windows,) = self._gather([reference])
        return Batch(
            reference=windows,
            positive=[value[reference] for value in values],
            negative=None,
        )

    def load_batch_contrastive(self, index: BatchIndex) -> Batch:
        """Load the reference, positive and negative windows of a multi-objective batch.

        All windows are gathered with one indexing call.

        Args:
            index: a :class:`~cebra_data.BatchIndex` whose ``positive`` is a list
                of index tensors, one per objective.

        Returns:
            A :class:`~cebra_data.Batch` with ``reference`` and ``negative`` of
            shape ``(batch, input_dimension, len(offset))`` and ``positive`` a
            list of such tensors, one per objective.

        Raises:
            TypeError: if ``index.positive`` is not a list or tuple of index tensors.

        Example:
            >>> import torch
            >>> from cebra_data import BatchIndex, DatasetxCEBRA
            >>> ds = DatasetxCEBRA(torch.randn(50, 4))
            >>> index = BatchIndex(torch.tensor([1, 2]), [torch.tensor([3, 4]), torch.tensor([5, 6])],
            ...                    torch.tensor([7, 8]))
            >>> batch = ds.load_batch_contrastive(index)
            >>> len(batch.positive), batch.positive[1].shape
            (2, torch.Size([2, 4, 1]))
        """
        if not isinstance(index.positive, (list, tuple)):
            raise TypeError(
                "load_batch_contrastive expects index.positive to be a list with one index "
                f"tensor per objective, but got {type(index.positive).__name__}."
            )
        parts = [as_index_tensor(index.reference, "reference", device=self.device)]
        parts += [
            as_index_tensor(p, f"positive[{i}]", device=self.device) for i, p in enumerate(index.positive)
        ]
        parts.append(as_index_tensor(index.negative, "negative", device=self.device))
        windows = self._gather(parts)
        return Batch(reference=windows[0], positive=windows[1:-1], negative=windows[-1])

    def __repr__(self) -> str:
        labels = ", ".join(f"{name}={tuple(value.shape)}" for name, value in self.labels.items())
        return (
            f"DatasetxCEBRA(N={len(self)}, input_dimension={self.input_dimension}, "
            f"labels={{{labels}}}, {self.offset!r}, device={self.device!r})"
        )


@dataclasses.dataclass
class MultiObjectiveLoader(Loader):
    """Base class of the multi-objective loaders.

    Args:
        dataset: a :class:`DatasetxCEBRA`.
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch; at most ``len(dataset)``.
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        TypeError: if ``dataset`` is not a :class:`DatasetxCEBRA`.
        ValueError: if ``batch_size`` is missing or larger than the dataset.
    """

    #: Supports are built before the first batch, once objectives are configured.
    _build_at_init: ClassVar[bool] = False

    def _check_configuration(self) -> None:
        if not isinstance(self.dataset, DatasetxCEBRA):
            raise TypeError(
                f"{type(self).__name__} needs a cebra_data.DatasetxCEBRA, but got "
                f"{type(self.dataset).__name__}."
            )
        if self.batch_size is None:
            raise ValueError(f"{type(self).__name__} needs batch_size, but got batch_size=None.")
        if self.batch_size > len(self.dataset):
            raise ValueError(
                f"batch_size should be at most the {len(self.dataset)} samples of the dataset, "
                f"but got batch_size={self.batch_size}."
            )

    def _init_generators(self, seed: Optional[int]) -> None:
        """Two streams from ``seed``: draws, and the seeds of the configured distributions."""
        root = as_generator(seed)
        self._generator = spawn_generator(root)
        self._seed_generator = spawn_generator(root)

    def _child_seed(self) -> int:
        return derive_seed(self._seed_generator)

    def _reseed_children(self) -> None:
        """Give the configured distributions new seeds from the new seed stream (in order)."""
        configs = getattr(self, "_configs", [])
        self._configs = [(name, kwargs, self._child_seed()) for name, kwargs, _ in configs]
        self._distributions_for = None

    def add_config(self, config: Mapping[str, Any]) -> None:
        """Add one objective (see the subclasses)."""
        raise NotImplementedError


def _support(valid: torch.Tensor, what: str) -> torch.Tensor:
    support = valid.nonzero().flatten()
    if len(support) == 0:
        raise ValueError(
            f"No time step can be drawn as {what}: every window leaves the recording or "
            "touches a NaN label. Use a smaller offset or check the labels."
        )
    return support


def _check_config(config: Any, required: str) -> Mapping[str, Any]:
    if not isinstance(config, Mapping) or required not in config:
        raise TypeError(
            f"add_config expects a dict with the key {required!r}, but got {config!r}."
        )
    return config


@dataclasses.dataclass
class SupervisedMultiObjectiveLoader(MultiObjectiveLoader):
    """Batches of references shared by every supervised objective, with their label values.

    Each batch is ``dataset.load_batch_supervised(index, labels)``: the
    reference windows and, in ``batch.positive``, one tensor of label values
    per configured label. References are drawn uniformly from the time steps
    of ``dataset.sample_mask()`` (full window, no NaN label).

    Args:
        dataset: a :class:`DatasetxCEBRA`.
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch.
        sampling_mode_supervised: how references are shared; one of
            :data:`SUPERVISED_SAMPLING_MODES` (``"ref_shared"``: one set of
            references for every objective).
        labels: names of the labels to load, in order; :meth:`add_config`
            appends more.
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown sampling mode or label.

    Example:
        >>> import torch
        >>> from cebra_data import DatasetxCEBRA, SupervisedMultiObjectiveLoader
        >>> ds = DatasetxCEBRA(torch.randn(100, 8), speed=torch.arange(100.0))
        >>> loader = SupervisedMultiObjectiveLoader(ds, num_steps=1, batch_size=4, seed=0)
        >>> loader.add_config({"label": "speed"})
        >>> batch = next(iter(loader))
        >>> batch.reference.shape, batch.positive[0].shape
        (torch.Size([4, 8, 1]), torch.Size([4, 1]))
    """

    sampling_mode_supervised: str = "ref_shared"
    labels: List[str] = dataclasses.field(default_factory=list, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(self.sampling_mode_supervised, "sampling_mode_supervised", SUPERVISED_SAMPLING_MODES)
        if isinstance(self.labels, str):
            self.labels = [self.labels]
        self.labels = list(self.labels)
        for name in self.labels:
            self.dataset.label(name)

    def add_config(self, config: Mapping[str, Any]) -> None:
        """Add a supervised objective: ``{"label": name}`` of a label of the dataset.

        Raises:
            TypeError: if ``config`` is not a dict with a ``"label"`` key.
            cebra_data.errors.UnknownChoiceError: for an unknown label.
        """
        name = _check_config(config, "label")["label"]
        self.dataset.label(name)
        self.labels.append(name)

    def _build(self) -> None:
        self._reference_support = _support(self.dataset.sample_mask(), "a reference")

    def get_indices(self, num_samples: Optional[int] = None, num_negatives: Optional[int] = None) -> BatchIndex:
        """Draw ``num_samples`` references (``positive`` and ``negative`` are ``None``).

        Args:
            num_samples: number of references; defaults to ``batch_size``.
            num_negatives: kept for CEBRA's signature; supervised batches have no
                negatives, so only ``None`` is accepted.

        Raises:
            ValueError: if ``num_negatives`` is given.
        """
        if num_negatives is not None:
            raise ValueError(
                f"supervised batches have no negatives, but got num_negatives={num_negatives}."
            )
        num_samples = self._num_samples(num_samples)
        self._refresh()
        reference = self._draw(self._reference_support, num_samples)
        return BatchIndex(reference=reference, positive=None, negative=None)

    def __iter__(self) -> Iterator[Batch]:
        if not self.labels:
            raise ValueError(
                "SupervisedMultiObjectiveLoader has no label to load: add one with "
                'add_config({"label": name}) or pass labels=[...].'
            )
        yield from super().__iter__()

    def _next_batch(self) -> Batch:
        return self.dataset.load_batch_supervised(self.get_indices(self.batch_size), self.labels)


@dataclasses.dataclass
class ContrastiveMultiObjectiveLoader(MultiObjectiveLoader):
    """Contrastive batches with shared references and negatives and one positive set per objective.

    :meth:`add_config` adds an objective, i.e. a positive distribution, by name
    (see :data:`cebra_data.distributions.registry.CONDITIONALS`). References
    are drawn uniformly from the time steps that every configured distribution
    can serve (e.g. ``t`` and ``t + time_offset`` both valid for ``"time"``);
    negatives uniformly from ``dataset.sample_mask()``. Distributions are
    rebuilt, with the same seeds, when the dataset's offset changes.

    Args:
        dataset: a :class:`DatasetxCEBRA`.
        num_steps: number of batches an iteration yields.
        batch_size: number of references (and negatives) per batch.
        sampling_mode_contrastive: how samples are shared; one of
            :data:`CONTRASTIVE_SAMPLING_MODES` (``"refneg_shared"``: one set of
            references and negatives for every objective).
        seed: seed of the loader (see :class:`cebra_data.Loader`); it also
            seeds the configured distributions, in the order they are added.

    Attributes:
        distributions: the positive distributions, one per :meth:`add_config` call.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown sampling mode.

    Example:
        >>> import torch
        >>> from cebra_data import DatasetxCEBRA, ContrastiveMultiObjectiveLoader
        >>> ds = DatasetxCEBRA(torch.randn(200, 8), position=torch.randn(200, 2))
        >>> ds.offset = (2, 3)
        >>> loader = ContrastiveMultiObjectiveLoader(ds, num_steps=1, batch_size=16, seed=0)
        >>> loader.add_config({"distribution": "time", "kwargs": {"time_offset": 5}})
        >>> loader.add_config({"distribution": "delta_normal",
        ...                    "kwargs": {"delta": 0.1, "label_name": "position"}})
        >>> index = loader.get_indices(16)
        >>> bool((index.positive[0] == index.reference + 5).all())
        True
    """

    sampling_mode_contrastive: str = "refneg_shared"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice(
            self.sampling_mode_contrastive, "sampling_mode_contrastive", CONTRASTIVE_SAMPLING_MODES
        )
        self.distributions: List[JointDistribution] = []
        self._configs: List[Tuple[str, Dict[str, Any], int]] = []
        self._distributions_for: Optional[Offset] = self.dataset.offset

    def _arguments(self, name: str, kwargs: Mapping[str, Any]) -> Dict[str, Any]:
        """Translate a config's ``kwargs`` into :func:`make_conditional` arguments."""
        if not isinstance(kwargs, Mapping):
            raise TypeError(f'config["kwargs"] should be a dict, but got {type(kwargs).__name__}.')
        unknown = [key for key in kwargs if key not in _CONFIG_KWARGS]
        if unknown:
            raise TypeError(
                f"Unknown key(s) {unknown} in the kwargs of distribution {name!r}. Valid keys are: "
                + ", ".join(repr(key) for key in _CONFIG_KWARGS)
                + "."
            )
        if "time_offset" in kwargs and "time_delta" in kwargs:
            raise ValueError(
                "kwargs set the time lag twice: pass either 'time_offset' or 'time_delta', not both."
            )
        arguments: Dict[str, Any] = {"num_samples": len(self.dataset)}
        for key, value in kwargs.items():
            arguments[_CONFIG_KWARGS[key]] = value
        if CONDITIONALS[name].needs_continuous:
            if "label_name" not in kwargs:
                raise ValueError(
                    f"distribution {name!r} searches a label: add 'label_name' (one of "
                    f"{sorted(self.dataset.labels)}) to its kwargs."
                )
        if "label_name" in kwargs:
            arguments["continuous"] = self.dataset.label(kwargs["label_name"])
        return arguments

    def add_config(self, config: Mapping[str, Any]) -> None:
        """Add an objective: ``{"distribution": name, "kwargs": {...}}``.

        ``name`` is a conditional of
        :data:`~cebra_data.distributions.registry.CONDITIONALS`. The kwargs keys
        are those of ``cebra.data``: ``"time_offset"`` (lag of ``"time"``),
        ``"time_delta"`` (lag of ``"time_delta"``; either key sets the lag of
        either distribution, default 10), ``"delta"`` (standard deviation of
        ``"delta_normal"``, default 0.1) and ``"label_name"`` (the label a
        ``"time_delta"`` or ``"delta_normal"`` distribution searches). Keys a
        distribution does not use are ignored.

        Raises:
            TypeError: if ``config`` is malformed or has unknown kwargs keys.
            cebra_data.errors.UnknownChoiceError: for an unknown distribution or label.
            ValueError: if a label is required and missing, or a value is invalid.
        """
        config = _check_config(config, "distribution")
        name = check_choice(config["distribution"], "distribution", CONDITIONALS)
        kwargs = config.get("kwargs")
        kwargs = {} if kwargs is None else kwargs
        self._arguments(name, kwargs)  # validate before consuming a seed
        kwargs = dict(kwargs)
        self._refresh_distributions()
        seed = self._child_seed()
        distribution = self._make(name, kwargs, seed, self.dataset.sample_mask())
        self._configs.append((name, kwargs, seed))
        self.distributions.append(distribution)
        self._built_for = None  # the shared reference support changed

    def _make(self, name: str, kwargs: Mapping[str, Any], seed: int, valid: torch.Tensor) -> JointDistribution:
        return make_conditional(
            name, device=self.device, seed=seed, valid=valid, **self._arguments(name, kwargs)
        )

    def _refresh_distributions(self) -> None:
        """Rebuild the distributions, with their seeds, if the offset changed since they were built."""
        offset = self.dataset.offset
        if offset != self._distributions_for:
            valid = self.dataset.sample_mask()
            self.distributions = [
                self._make(name, kwargs, seed, valid) for name, kwargs, seed in self._configs
            ]
            self._distributions_for = offset

    def _build(self) -> None:
        valid = self.dataset.sample_mask()
        self._refresh_distributions()
        shared = valid.clone()
        for distribution in self.distributions:
            served = torch.zeros_like(shared)
            served[distribution.support.to(shared.device)] = True
            shared &= served
        self._reference_support = _support(shared, "a reference served by every distribution")
        self._negative_support = _support(valid, "a negative")

    def get_indices(self, num_samples: Optional[int] = None, num_negatives: Optional[int] = None) -> BatchIndex:
        """Draw shared references and negatives, and one positive set per objective.

        Args:
            num_samples: number of references; defaults to ``batch_size``.
            num_negatives: number of negatives; defaults to the loader's
                ``num_negatives``, else ``num_samples``.

        Returns:
            A :class:`~cebra_data.BatchIndex` whose ``positive`` is a list with
            one index tensor per configured distribution.

        Raises:
            ValueError: if no distribution was added.
        """
        if not self.distributions:
            raise ValueError(
                "ContrastiveMultiObjectiveLoader has no objective: add one with "
                'add_config({"distribution": "time", "kwargs": {"time_offset": 10}}).'
            )
        num_samples = self._num_samples(num_samples)
        if num_negatives is None:
            num_negatives = self._num_negatives(num_samples)
        num_negatives = check_positive_int(num_negatives, "num_negatives")
        self._refresh()
        reference = self._draw(self._reference_support, num_samples)
        negative = self._draw(self._negative_support, num_negatives)
        positive = [sample_positives(distribution, reference) for distribution in self.distributions]
        return BatchIndex(reference=reference, positive=positive, negative=negative)

    def _next_batch(self) -> Batch:
        return self.dataset.load_batch_contrastive(self.get_indices(self.batch_size))
