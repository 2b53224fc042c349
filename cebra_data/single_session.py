"""Single-session datasets and the loaders that sample from them (layer L3).

Each loader composes distributions from :mod:`cebra_data.distributions` with a
dataset; the machinery they share (generator, child seeds, offset tracking,
negatives, registered conditionals) is :class:`cebra_data.Loader`'s. Conditional
and prior names are looked up in :mod:`cebra_data.distributions.registry`;
distributions are built from the dataset's ``sample_mask()`` and ``trial_ids``,
so every returned index has a full window. The loaders also accept datasets
with the interface of ``cebra.data`` (e.g. CEBRA's own dataset classes): what
those lack is computed by :func:`cebra_data.base.sample_mask_of` and
:func:`cebra_data.base.trial_ids_of`.
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from typing import Any, ClassVar, Optional

import torch

from cebra_data._validation import check_choice, check_time_offset_for, stacklevel_outside_package
from cebra_data.base import (
    Dataset,
    Loader,
    as_index_tensor,
    index_of,
    sample_mask_of,
    trial_ids_of,
)
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.distributions.base import JointDistribution, sample_positives
from cebra_data.distributions.discrete import Discrete
from cebra_data.distributions.registry import (
    CONDITIONALS,
    MIXED_CONDITIONALS,
    PRIORS,
    make_mixed_conditional,
    make_prior,
)
from cebra_data.errors import DeprecatedNameWarning, UnknownChoiceError

__all__ = [
    "SingleSessionDataset",
    "DiscreteDataLoader",
    "ContinuousDataLoader",
    "MixedDataLoader",
    "HybridDataLoader",
    "FullDataLoader",
]

#: CEBRA 0.6.1's deprecated name of ``"delta_normal"`` (ContinuousDataLoader, FullDataLoader).
_DEPRECATED_DELTA = "delta"


class SingleSessionDataset(Dataset):
    """A dataset holding one recording session.

    One signal matrix of shape ``(num_timesteps, input_dimension)``, optionally
    paired with a continuous index ``(num_timesteps, d)`` and/or a discrete
    index ``(num_timesteps,)``. Subclasses implement ``__len__``,
    :attr:`input_dimension` and ``__getitem__``; :meth:`load_batch` gathers
    the reference, positive and negative windows with a single indexing call.
    """

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of time steps in the session."""

    def _check_offset_fits(self, offset: Offset) -> None:
        n = len(self)
        if n < len(offset):
            raise ValueError(
                f"The recording has {n} samples, fewer than the {len(offset)} samples of "
                f"one window ({offset!r}). Use a smaller offset or a longer recording."
            )

    def load_batch(self, index: BatchIndex) -> Batch:
        """Gather the windows of a batch.

        Args:
            index: the reference, positive and negative indices, each a 1-D
                integer tensor (positives may be longer than references, as in
                :class:`cebra_data.HybridDataLoader`).

        Returns:
            A :class:`~cebra_data.Batch` whose three tensors have shape
            ``(len(indices), input_dimension, len(offset))``.
        """
        parts = [
            as_index_tensor(index.reference, "reference"),
            as_index_tensor(index.positive, "positive"),
            as_index_tensor(index.negative, "negative"),
        ]
        windows = self[torch.cat(parts)]
        if self.masks:
            windows = self.apply_mask(windows)
        reference, positive, negative = windows.split_with_sizes([p.numel() for p in parts])
        return Batch(
            reference=reference,
            positive=positive,
            negative=negative,
            index=index.index,
            index_reversed=index.index_reversed,
        )


@dataclasses.dataclass
class _JointLoader(Loader):
    """A loader over one joint distribution (``self.distribution``, built by ``_build``)."""

    _single_session: ClassVar[bool] = True

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw ``num_samples`` references, positives and negatives.

        References and negatives are one prior draw, split in two (as in
        CEBRA); positives come from the conditional.

        Args:
            num_samples: the number of references; by default ``batch_size``.
        """
        # Every batch passes here: the checks of _num_samples and _refresh are inlined
        # for the common case (measured: ~5 % of the time loader's get_indices).
        if num_samples is None:
            num_samples = self.batch_size
        if type(num_samples) is not int or num_samples < 1:
            num_samples = self._num_samples(num_samples)
        if self.dataset.offset is not self._built_for:
            self._refresh()
        num_negatives = num_samples if self.num_negatives is None else self.num_negatives
        return BatchIndex(*self._draw_batch(self.distribution, num_samples, num_negatives))


@dataclasses.dataclass
class DiscreteDataLoader(_JointLoader):
    """Supervised contrastive learning on a discrete index.

    References and negatives are drawn from the ``prior``; each positive is a
    uniformly drawn time step with the reference's label. Only time steps of
    ``dataset.sample_mask()`` are drawn.

    Args:
        dataset: a dataset with a discrete index.
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch.
        prior: a name of :data:`cebra_data.distributions.registry.PRIORS`:
            ``"empirical"`` (every valid time step equally likely: labels keep
            their frequencies) or ``"uniform"`` (every label value equally
            likely, exactly).
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        cebra_data.errors.MissingIndexError: if the dataset has no discrete index.
        cebra_data.errors.UnknownChoiceError: for an unknown ``prior``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DiscreteDataLoader
        >>> labels = torch.tensor([0, 5, 9, 9] * 25)
        >>> dataset = TensorDataset(torch.randn(100, 8), discrete=labels, offset=(2, 3))
        >>> loader = DiscreteDataLoader(dataset, num_steps=2, batch_size=16, prior="uniform", seed=0)
        >>> index = loader.get_indices(16)
        >>> bool((labels[index.positive] == labels[index.reference]).all())
        True
        >>> [tuple(batch.reference.shape) for batch in loader]
        [(16, 8, 5), (16, 8, 5)]
    """

    prior: str = "empirical"

    @property
    def index(self) -> torch.Tensor:
        """The (discrete) dataset index."""
        return index_of(self.dataset, "discrete")

    def _check_configuration(self) -> None:
        check_choice(self.prior, "prior", PRIORS)
        self._require_index("discrete")

    def _build(self) -> None:
        valid = sample_mask_of(self.dataset)
        self.distribution: Discrete = make_prior(
            self.prior, self.index, device=self.device, seed=self._child_seed(), valid=valid
        )


@dataclasses.dataclass
class ContinuousDataLoader(_JointLoader):
    """Contrastive learning conditioned on time or a continuous index.

    References and negatives are drawn uniformly from the time steps the
    conditional can serve; positives come from the ``conditional``:

    * ``"time"`` -- ``reference + time_offset`` (time-contrastive learning;
      :class:`cebra_data.distributions.TimeContrastive`);
    * ``"time_delta"`` -- the nearest neighbour of the reference's index value
      plus an empirical ``time_offset``-step change
      (:class:`cebra_data.distributions.TimedeltaDistribution`);
    * ``"delta_normal"`` -- the nearest neighbour of the reference's index
      value plus Gaussian noise of standard deviation ``delta``
      (:class:`cebra_data.distributions.DeltaNormalDistribution`).

    Args:
        dataset: the dataset (with a continuous index unless ``conditional="time"``).
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch.
        conditional: a name of :data:`cebra_data.distributions.registry.CONDITIONALS`
            (``"delta"``, CEBRA's deprecated name of ``"delta_normal"``, is accepted with a
            :class:`~cebra_data.errors.DeprecatedNameWarning`, as in CEBRA).
        time_offset: time lag of ``"time"`` and ``"time_delta"`` (0 is refused for
            ``"time_delta"`` and warned about for ``"time"``: each positive would be its
            reference).
        delta: standard deviation of ``"delta_normal"``.
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        cebra_data.errors.MissingIndexError: if the conditional needs a
            continuous index and the dataset has none.
        cebra_data.errors.UnknownChoiceError: for an unknown ``conditional``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, ContinuousDataLoader
        >>> dataset = TensorDataset(torch.randn(200, 8), continuous=torch.randn(200, 3), offset=(5, 5))
        >>> loader = ContinuousDataLoader(dataset, num_steps=1, batch_size=32, conditional="time", seed=0)
        >>> index = loader.get_indices(32)
        >>> bool((index.positive == index.reference + 10).all()), int(index.reference.min()) >= 5
        (True, True)
    """

    conditional: str = "time_delta"
    delta: float = 0.1

    def _check_configuration(self) -> None:
        if self.conditional == _DEPRECATED_DELTA:
            warnings.warn(
                'conditional="delta" is CEBRA\'s deprecated name of "delta_normal" (the same '
                'sampling); pass conditional="delta_normal".',
                DeprecatedNameWarning,
                stacklevel=stacklevel_outside_package(),
            )
        conditional = self._conditional_name()
        check_choice(conditional, "conditional", CONDITIONALS)
        if CONDITIONALS[conditional].needs_continuous:
            self._require_index("continuous", f"with conditional={self.conditional!r}")

    def _conditional_name(self) -> str:
        """The registered conditional: ``"delta"`` (CEBRA's old name) is ``"delta_normal"``."""
        return "delta_normal" if self.conditional == _DEPRECATED_DELTA else self.conditional

    def _build(self) -> None:
        valid, trial_ids = sample_mask_of(self.dataset), trial_ids_of(self.dataset)
        self.distribution: JointDistribution = self._make_conditional(
            self._conditional_name(), valid, trial_ids
        )


@dataclasses.dataclass
class MixedDataLoader(Loader):
    """Positives share the reference's discrete label and are close in the continuous index.

    The query of a reference is its continuous value plus an empirical
    ``time_offset``-step change; the positive is the nearest valid time step
    *with the same discrete label*
    (:class:`cebra_data.distributions.MixedTimeDeltaDistribution`).
    References and negatives are drawn independently from the ``prior``.

    Args:
        dataset: a dataset with a continuous and a discrete index.
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch.
        conditional: a conditional with a label-sharing variant (``"time_delta"``).
        time_offset: time lag of the empirical changes.
        prior: ``"uniform"`` (every label value equally likely, the prior
            CEBRA's ``MixedDataLoader`` uses) or ``"empirical"`` (every valid
            time step equally likely).
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        cebra_data.errors.MissingIndexError: if either index is missing.
        cebra_data.errors.UnknownChoiceError: for an unknown ``conditional`` or ``prior``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, MixedDataLoader
        >>> labels = torch.arange(300) // 100
        >>> dataset = TensorDataset(torch.randn(300, 8), continuous=torch.randn(300, 2),
        ...                         discrete=labels, offset=(1, 2))
        >>> loader = MixedDataLoader(dataset, num_steps=1, batch_size=64, seed=0)
        >>> index = loader.get_indices(64)
        >>> bool((labels[index.positive] == labels[index.reference]).all())
        True
    """

    _single_session: ClassVar[bool] = True

    conditional: str = "time_delta"
    prior: str = dataclasses.field(default="uniform", kw_only=True)

    @property
    def dindex(self) -> torch.Tensor:
        """The dataset's discrete index."""
        return index_of(self.dataset, "discrete")

    @property
    def cindex(self) -> torch.Tensor:
        """The dataset's continuous index."""
        return index_of(self.dataset, "continuous")

    def _check_configuration(self) -> None:
        check_choice(self.conditional, "conditional for MixedDataLoader", MIXED_CONDITIONALS)
        check_choice(self.prior, "prior", PRIORS)
        self._require_index("discrete")
        self._require_index("continuous")

    def _build(self) -> None:
        valid, trial_ids = sample_mask_of(self.dataset), trial_ids_of(self.dataset)
        check_time_offset_for(self.conditional, self.time_offset)
        self.distribution: JointDistribution = make_mixed_conditional(
            self.conditional,
            discrete=self.dindex,
            continuous=self.cindex,
            time_offset=self.time_offset,
            device=self.device,
            seed=self._child_seed(),
            valid=valid,
            trial_ids=trial_ids,
            prior=self.prior,
        )

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw ``num_samples`` references, positives and negatives.

        References and negatives are two independent prior draws (as in CEBRA).
        """
        num_samples = self._num_samples(num_samples)
        self._refresh()
        reference = self.distribution.sample_prior(num_samples)
        negative = self.distribution.sample_prior(self._num_negatives(num_samples))
        positive = sample_positives(self.distribution, reference)
        return BatchIndex(reference=reference, positive=positive, negative=negative)


@dataclasses.dataclass
class HybridDataLoader(Loader):
    """Contrastive learning on behaviour and time together.

    Each batch has ``num_samples`` references and negatives and ``2 *
    num_samples`` positives: first the behaviour positives (from
    ``conditional``), then the time positives (from ``time_distribution``),
    each half aligned with the references. References and negatives are drawn
    uniformly from the time steps both distributions can serve.

    Args:
        dataset: a dataset with a continuous index.
        num_steps: number of batches an iteration yields.
        batch_size: number of references per batch.
        conditional: the behaviour conditional (a name of
            :data:`cebra_data.distributions.registry.CONDITIONALS`).
        time_distribution: the time conditional (``"time"``). As in CEBRA, after
            construction this attribute holds the time distribution object and
            ``behavior_distribution`` the behaviour one; the name is kept for
            rebuilds when the dataset's offset changes.
        time_offset: time lag of ``"time"`` and ``"time_delta"``.
        delta: standard deviation of ``"delta_normal"``.
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Raises:
        cebra_data.errors.MissingIndexError: if the dataset has no continuous index.
        cebra_data.errors.UnknownChoiceError: for an unknown name, or a value
            that is not a name (e.g. ``time_distribution=None``).

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, HybridDataLoader
        >>> dataset = TensorDataset(torch.randn(200, 8), continuous=torch.randn(200, 3))
        >>> index = HybridDataLoader(dataset, num_steps=1, batch_size=32, seed=0).get_indices(32)
        >>> len(index.reference), len(index.positive), len(index.negative)
        (32, 64, 32)
        >>> bool((index.positive[32:] == index.reference + 10).all())
        True
        >>> type(HybridDataLoader(dataset, num_steps=1, batch_size=32, seed=0).time_distribution).__name__
        'TimeContrastive'
    """

    _single_session: ClassVar[bool] = True

    conditional: str = "time_delta"
    time_distribution: Any = "time"
    delta: float = 0.1

    @property
    def index(self) -> torch.Tensor:
        """The (continuous) dataset index."""
        return index_of(self.dataset, "continuous")

    def _check_configuration(self) -> None:
        check_choice(self.conditional, "conditional", CONDITIONALS)
        self._time_distribution_name = self._time_conditional_name()
        self._require_index("continuous")

    def _time_conditional_name(self) -> str:
        """The name of the time conditional: a name just assigned, or the one given at construction.

        Besides a name, ``time_distribution`` may only hold the distribution
        this loader built from its name; anything else (``None``, a number,
        another object) is an unknown name.
        """
        if isinstance(self.time_distribution, str) or not hasattr(self, "_time_distribution_built"):
            return check_choice(self.time_distribution, "time_distribution", CONDITIONALS)
        if self.time_distribution is not self._time_distribution_built:
            raise UnknownChoiceError("time_distribution", self.time_distribution, CONDITIONALS)
        return self._time_distribution_name

    def _build(self) -> None:
        valid, trial_ids = sample_mask_of(self.dataset), trial_ids_of(self.dataset)
        self._time_distribution_name = self._time_conditional_name()
        self.behavior_distribution = self._make_conditional(self.conditional, valid, trial_ids)
        self.time_distribution = self._make_conditional(self._time_distribution_name, valid, trial_ids)
        self._time_distribution_built = self.time_distribution
        behaviour, time = self.behavior_distribution.support, self.time_distribution.support
        self.support = time[torch.isin(time, behaviour)]
        if len(self.support) == 0:
            raise ValueError(
                "No time step can serve both the behaviour and the time conditional; "
                "check the offset, time_offset and the NaN rows of the continuous index."
            )

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw ``num_samples`` references and negatives and ``2 * num_samples`` positives."""
        num_samples = self._num_samples(num_samples)
        self._refresh()
        drawn = self._draw(self.support, num_samples + self._num_negatives(num_samples))
        reference, negative = drawn[:num_samples], drawn[num_samples:]
        behaviour = sample_positives(self.behavior_distribution, reference)
        time = sample_positives(self.time_distribution, reference)
        return BatchIndex(reference=reference, positive=torch.cat([behaviour, time]), negative=negative)


@dataclasses.dataclass
class FullDataLoader(ContinuousDataLoader):
    """Full-batch training: every valid reference, in order, in each batch.

    The references are all time steps the conditional can serve (valid for
    the dataset's offset and trials), ascending; the negatives are a seeded
    random permutation of them; the positives come from the conditional.
    As in CEBRA, ``batch_size`` is set to ``None`` and iterating yields the
    :class:`~cebra_data.BatchIndex` of each step (``num_steps`` times).

    With ``R`` data-parallel ranks (``torch.distributed``, or the ``rank`` and
    ``world_size`` fields), rank ``r`` takes every ``R``-th valid reference
    starting at the ``r``-th (``support[r::R]``): the shards are disjoint, their
    union is every valid reference, and their sizes differ by at most one (no
    padding, no repeats). Negatives are a permutation of the rank's shard.

    Args:
        dataset: see :class:`ContinuousDataLoader`.
        num_steps: number of full batches an iteration yields.
        batch_size: ignored (set to ``None``).
        conditional: see :class:`ContinuousDataLoader`.
        time_offset: see :class:`ContinuousDataLoader`.
        delta: see :class:`ContinuousDataLoader`.
        seed: seed of the loader (see :class:`cebra_data.Loader`).

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, FullDataLoader
        >>> dataset = TensorDataset(torch.randn(50, 4), continuous=torch.randn(50, 2), offset=(2, 2))
        >>> index = FullDataLoader(dataset, num_steps=1, conditional="time", time_offset=3, seed=0).get_indices()
        >>> index.reference[:3].tolist(), len(index.reference)
        ([2, 3, 4], 44)
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.batch_size = None

    def _check_configuration(self) -> None:
        super()._check_configuration()
        if self.num_negatives is not None:
            raise ValueError(
                "FullDataLoader uses every valid time step as a negative (a permutation of the "
                f"references), so num_negatives should be None, but got {self.num_negatives}."
            )

    @property
    def offset(self) -> Offset:
        """The dataset's offset."""
        return self.dataset.offset

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Return every valid reference, a permutation of them as negatives, and positives.

        Raises:
            ValueError: if ``num_samples`` is given (the batch is the whole dataset).
        """
        if num_samples is not None:
            raise ValueError(
                "FullDataLoader draws every valid reference, so num_samples should be None, "
                f"but got num_samples={num_samples!r}."
            )
        self._refresh()
        rank, world_size = self.rank_and_world_size()
        reference = self.distribution.support[rank::world_size]
        permutation = torch.randperm(len(reference), generator=self._generator)
        negative = reference[permutation.to(reference.device)]
        positive = sample_positives(self.distribution, reference)
        return BatchIndex(reference=reference, positive=positive, negative=negative)

    def _next_batch(self) -> BatchIndex:
        return self.get_indices()
