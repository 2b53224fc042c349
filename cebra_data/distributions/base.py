"""Interfaces of distributions and indices, and the one seeding helper.

A *distribution* draws time indices from labels only: a
:class:`PriorDistribution` draws reference (and negative) indices, a
:class:`ConditionalDistribution` draws one positive index per reference, a
:class:`JointDistribution` does both. An :class:`Index` answers exact
nearest-neighbour queries over a label space.

Seeding
-------
Every draw uses a generator made by :func:`as_generator` (see
:mod:`cebra_data.seeding`, re-exported here as in CEBRA).

Validity
--------
Every distribution accepts ``valid`` (boolean ``(N,)``) and ``trial_ids``
(integer ``(N,)``). Returned indices are always ``valid``; see each class for
the exact rule. :func:`as_valid_mask` and :func:`as_trial_ids` check them.

Datasets from other libraries
-----------------------------
Distributions read only labels and the valid set from a dataset. The
helpers :func:`index_of`, :func:`trial_ids_of`, :func:`sample_mask_of` and
:func:`window_mask` read them from any object with the dataset interface of
``cebra.data`` (duck typing), so CEBRA's own dataset classes work too: a
missing index (``None``, or a property raising ``NotImplementedError``) is
``None``, a dataset without ``sample_mask()`` gets the mask of every index
whose whole window fits (and its trials and exclusions, if it has them).
"""

from __future__ import annotations

import abc
import functools
from typing import Any, Optional, Tuple

import numpy as np
import torch

from cebra_data._validation import check_int, check_positive_int
from cebra_data.device import DeviceLike, HasDevice
from cebra_data.seeding import (
    HasGenerator,
    SeedLike,
    as_generator,
    derive_seed,
    spawn_generator,
)

__all__ = [
    "SeedLike",
    "as_generator",
    "derive_seed",
    "spawn_generator",
    "HasGenerator",
    "Index",
    "PriorDistribution",
    "ConditionalDistribution",
    "JointDistribution",
    "as_valid_mask",
    "as_trial_ids",
    "as_reference_index",
    "index_of",
    "trial_ids_of",
    "window_mask",
    "sample_mask_of",
]


class Index(abc.ABC, HasDevice):
    """An exact nearest-neighbour index over a label space.

    Subclasses implement :meth:`search`. As CEBRA's, an index holds tensors on
    one device (:class:`~cebra_data.HasDevice`).

    Args:
        device: the device of the index's tensors.
    """

    def __init__(self, device: Optional[DeviceLike] = None) -> None:
        HasDevice.__init__(self, device)

    @abc.abstractmethod
    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Return, for each query row, the index of the closest entry."""


class PriorDistribution(abc.ABC):
    """Draws indices from a prior, e.g. references and negatives."""

    @abc.abstractmethod
    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """Return ``num_samples`` indices drawn from the prior, a 1-D long tensor."""


class ConditionalDistribution(abc.ABC):
    """Draws one index per reference index from a conditional distribution."""

    @abc.abstractmethod
    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return one index per entry of ``reference_idx``, same shape."""

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """:meth:`sample_conditional` for references this distribution's own prior drew.

        The loaders' hot path: such references are a 1-D long tensor on the
        right device, inside the support, so a subclass may skip re-checking
        them. The same draws as :meth:`sample_conditional` (same generator
        calls, same result); by default it simply calls it.
        """
        return self.sample_conditional(reference_idx)


class JointDistribution(PriorDistribution, ConditionalDistribution):
    """A prior and a conditional: draws (reference, positive) pairs."""

    def _sample_batch(
        self, num_samples: int, num_negatives: int
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reference, positive, negative)`` of one batch: the loaders' hot path.

        One prior draw of ``num_samples + num_negatives`` indices split into
        references and negatives, then the conditional of the references.
        Subclasses may do the same draws faster; the result must not change.
        """
        return split_prior_batch(self, num_samples, num_negatives)

    def sample_joint(self, num_samples: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(reference, positive)``, each ``num_samples`` indices."""
        num_samples = check_positive_int(num_samples, "num_samples")
        reference = self.sample_prior(num_samples)
        return reference, self.sample_conditional(reference)


# -- the loaders' hot path: the same draws as the public calls, fewer checks ------


def sample_positives(distribution: Any, reference: torch.Tensor) -> torch.Tensor:
    """``distribution.sample_conditional(reference)`` for references drawn from its own support.

    Uses the distribution's ``_sample_conditional_trusted`` (the same draws, no
    re-check of the references) where it has one, so distributions from elsewhere
    work too.
    """
    trusted = getattr(distribution, "_sample_conditional_trusted", None)
    return (trusted or distribution.sample_conditional)(reference)


def split_prior_batch(
    distribution: Any, num_samples: int, num_negatives: int
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(reference, positive, negative)``: one prior draw split in two (as in CEBRA), then
    the positives of the references (:func:`sample_positives`)."""
    drawn = distribution.sample_prior(num_samples + num_negatives)
    reference = drawn[:num_samples]
    return reference, sample_positives(distribution, reference), drawn[num_samples:]


@functools.lru_cache(maxsize=None)
def overrides(kind: type, cls: type, methods: Tuple[str, ...]) -> bool:
    """Whether class ``kind`` replaces one of ``cls``'s ``methods``.

    A fast path written for ``cls`` does not apply to a subclass with its own
    conditional. Cached: one dictionary look-up per call on the hot path.
    """
    return any(getattr(kind, name) is not getattr(cls, name) for name in methods)


def contiguous_start(support: torch.Tensor) -> Optional[int]:
    """``support[0]`` if ``support`` is ``arange(support[0], support[0] + len(support))``, else ``None``.

    Such a support (the usual case: every time step but the edges) is drawn as
    ``start + randint`` instead of a gather; ``support[start + k]`` is the same value.
    """
    if support.dim() != 1 or len(support) == 0:
        return None
    if len(support) > 1 and not bool((torch.diff(support) == 1).all()):
        return None
    return int(support[0])


# -- shared argument checks ---------------------------------------------------


def as_valid_mask(valid: Any, length: int, device: Optional[str] = None) -> torch.Tensor:
    """Return ``valid`` as a boolean ``(length,)`` tensor; ``None`` means all valid.

    Raises:
        TypeError: if ``valid`` is not boolean.
        ValueError: if its shape is not ``(length,)``.
    """
    if valid is None:
        mask = torch.ones(length, dtype=torch.bool)
    else:
        mask = torch.as_tensor(valid) if not isinstance(valid, torch.Tensor) else valid
        if mask.dtype != torch.bool:
            raise TypeError(
                f"valid should be a boolean mask, but got dtype {mask.dtype}. "
                "Build it with a comparison, e.g. labels >= 0."
            )
        if tuple(mask.shape) != (length,):
            raise ValueError(
                f"valid should have shape ({length},), one entry per time step, but got "
                f"shape {tuple(mask.shape)}."
            )
    return mask.to(device) if device is not None else mask


def as_trial_ids(trial_ids: Any, length: int, device: Optional[str] = None) -> Optional[torch.Tensor]:
    """Return ``trial_ids`` as a long ``(length,)`` tensor, or ``None``.

    Raises:
        TypeError: if ``trial_ids`` is not integer.
        ValueError: if its shape is not ``(length,)``.
    """
    if trial_ids is None:
        return None
    ids = torch.as_tensor(trial_ids) if not isinstance(trial_ids, torch.Tensor) else trial_ids
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"trial_ids should hold integers, but got dtype {ids.dtype}.")
    if tuple(ids.shape) != (length,):
        raise ValueError(
            f"trial_ids should have shape ({length},), one entry per time step, but got "
            f"shape {tuple(ids.shape)}."
        )
    ids = ids.long()
    return ids.to(device) if device is not None else ids


def as_reference_index(reference_idx: Any, length: int, device: Optional[str] = None) -> torch.Tensor:
    """Return ``reference_idx`` as a 1-D long tensor of indices in ``[0, length)``.

    Raises:
        TypeError: for non-integer indices.
        ValueError: for a tensor that is not 1-D.
        IndexError: for indices outside ``[0, length)``.
    """
    if not isinstance(reference_idx, torch.Tensor):
        reference_idx = torch.as_tensor(np.asarray(reference_idx))
    if reference_idx.is_floating_point() or reference_idx.dtype == torch.bool:
        raise TypeError(
            f"reference_idx should hold integer indices, but got dtype {reference_idx.dtype}."
        )
    if reference_idx.dim() != 1:
        raise ValueError(
            f"reference_idx should be 1-D, but got shape {tuple(reference_idx.shape)}. "
            "Pass a 1-D tensor of reference indices."
        )
    reference_idx = reference_idx.long()
    if reference_idx.numel() > 0:
        low, high = int(reference_idx.min()), int(reference_idx.max())
        if low < 0 or high >= length:
            raise IndexError(
                f"reference_idx should lie in [0, {length}), but got values from {low} to {high}."
            )
    return reference_idx.to(device) if device is not None else reference_idx



# -- reading labels from any dataset-like object ---------------------------------

_INDEX_KINDS = ("continuous", "discrete")


def index_of(dataset: Any, kind: str) -> Optional[Any]:
    """The ``continuous`` or ``discrete`` index of ``dataset``, or ``None`` if it has none.

    Reads ``dataset.continuous_index`` / ``dataset.discrete_index``. A missing
    attribute, ``None``, or a property raising ``NotImplementedError`` (as
    abstract ``cebra.data`` datasets may) all mean "no such index".

    Args:
        dataset: any dataset-like object.
        kind: ``"continuous"`` or ``"discrete"``.

    Returns:
        The index as the dataset stores it, or ``None``.

    Raises:
        ValueError: for another ``kind``.

    Example:
        >>> from cebra_data.distributions.base import index_of
        >>> class Recording:
        ...     @property
        ...     def discrete_index(self):
        ...         raise NotImplementedError
        >>> index_of(Recording(), "discrete") is None, index_of(Recording(), "continuous") is None
        (True, True)
    """
    if kind not in _INDEX_KINDS:
        raise ValueError(f"kind should be one of {list(_INDEX_KINDS)}, but got {kind!r}.")
    try:
        return getattr(dataset, f"{kind}_index", None)
    except NotImplementedError:
        return None


def trial_ids_of(dataset: Any) -> Optional[torch.Tensor]:
    """Per-sample trial ids of ``dataset`` as a long ``(N,)`` tensor, or ``None`` without trials.

    Datasets without a ``trial_ids`` attribute (e.g. ``cebra.data`` datasets)
    have no trials.

    Args:
        dataset: any dataset-like object with ``__len__``.

    Raises:
        TypeError: if the trial ids are not integers.
        ValueError: if they do not have one entry per time step.

    Example:
        >>> from cebra_data.distributions.base import trial_ids_of
        >>> import torch
        >>> from cebra_data import TensorDataset
        >>> trial_ids_of(TensorDataset(torch.zeros(4, 1), discrete=torch.zeros(4, dtype=torch.long))) is None
        True
    """
    try:
        trial_ids = getattr(dataset, "trial_ids", None)
    except NotImplementedError:
        return None
    if trial_ids is None:
        return None
    return as_trial_ids(trial_ids, len(dataset))


def _bound(offset: Any, name: str) -> int:
    value = getattr(offset, name, None)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(
            "offset should have integer left and right bounds (e.g. cebra_data.Offset or "
            f"cebra.data.Offset), but got {offset!r} of type {type(offset).__name__} with "
            f"{name}={value!r}."
        )
    return int(value)


def window_mask(
    length: int,
    offset: Any,
    trial_ids: Optional[torch.Tensor] = None,
    excluded: Optional[torch.Tensor] = None,
    device: Optional[DeviceLike] = None,
) -> torch.Tensor:
    """Boolean ``(length,)`` mask of the time steps whose whole window fits.

    Index ``i`` is ``True`` when ``offset.left <= i <= length - offset.right``
    (its window ``[i - left, i + right)`` lies inside the recording), and, with
    ``trial_ids``, when the window lies inside the trial of ``i`` (trials are
    contiguous blocks of equal ids); entries of ``excluded`` are ``False``.
    This is the rule of :meth:`cebra_data.Dataset.sample_mask`.

    Args:
        length: the number of time steps.
        offset: any object with integer ``left`` and ``right`` (e.g.
            :class:`cebra_data.Offset` or ``cebra.data.Offset``).
        trial_ids: optional ``(length,)`` trial id of every time step.
        excluded: optional boolean ``(length,)`` mask of excluded time steps.
        device: device of the mask without ``trial_ids`` (with them, theirs).

    Returns:
        The boolean mask.

    Raises:
        TypeError: if ``offset`` lacks integer ``left``/``right`` bounds.

    Example:
        >>> from cebra_data.distributions.base import window_mask
        >>> import torch
        >>> from cebra_data import Offset
        >>> window_mask(6, Offset(1, 2)).int().tolist()
        [0, 1, 1, 1, 1, 0]
        >>> window_mask(6, Offset(1, 1), trial_ids=torch.tensor([0, 0, 0, 1, 1, 1])).int().tolist()
        [0, 1, 1, 0, 1, 1]
    """
    n = check_int(length, "length", minimum=0)
    left, right = _bound(offset, "left"), _bound(offset, "right")
    if trial_ids is None:
        mask = torch.zeros(n, dtype=torch.bool, device=device)
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
    if excluded is not None:
        mask &= ~excluded.to(mask.device)
    return mask


def sample_mask_of(dataset: Any) -> torch.Tensor:
    """The boolean ``(N,)`` mask of the time steps a sampler may draw from ``dataset``.

    ``dataset.sample_mask()`` when the dataset has one (every
    :class:`cebra_data.Dataset`); otherwise, for a dataset with CEBRA's
    interface, :func:`window_mask` of its length and ``offset``, its trials
    (:func:`trial_ids_of`) and its ``excluded_mask`` if it has those (CEBRA's
    datasets have neither).

    Args:
        dataset: any dataset-like object: ``sample_mask()``, or ``__len__`` and
            an ``offset`` with ``left`` and ``right``.

    Returns:
        The boolean mask, on the dataset's device.

    Raises:
        TypeError: if ``dataset`` has neither ``sample_mask()`` nor a length
            and an offset.

    Example:
        >>> from cebra_data.distributions.base import sample_mask_of
        >>> import torch
        >>> from cebra_data import Offset
        >>> class Recording:            # a minimal dataset with CEBRA's interface
        ...     offset = Offset(2, 3)
        ...     device = "cpu"
        ...     def __len__(self):
        ...         return 8
        >>> sample_mask_of(Recording()).int().tolist()
        [0, 0, 1, 1, 1, 1, 0, 0]
    """
    sample_mask = getattr(dataset, "sample_mask", None)
    if callable(sample_mask):
        return sample_mask()
    if not hasattr(type(dataset), "__len__") or getattr(dataset, "offset", None) is None:
        raise TypeError(
            "Cannot tell which time steps can be drawn: expected a dataset with sample_mask(), "
            "or with __len__ and an offset with left and right (the interface of cebra.data "
            f"datasets), but got {type(dataset).__name__}."
        )
    try:
        excluded = getattr(dataset, "excluded_mask", None)
    except NotImplementedError:
        excluded = None
    device = getattr(dataset, "device", None)
    return window_mask(
        len(dataset), dataset.offset, trial_ids=trial_ids_of(dataset), excluded=excluded,
        device=str(device) if device is not None else None,
    )
