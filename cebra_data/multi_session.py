"""Multi-session datasets and the loaders that sample across sessions."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import torch

from cebra_data._validation import check_choice
from cebra_data.base import (
    Dataset,
    Loader,
    as_offset,
    index_of,
    is_multisession_like,
    sample_mask_of,
)
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.distributions.base import sample_positives
from cebra_data.distributions.multisession import (
    DiscreteMultisessionSampler,
    MixedMultisessionSampler,
    MultisessionSampler,
    UnifiedSampler,
)
from cebra_data.distributions.registry import MULTISESSION_CONDITIONALS
from cebra_data.single_session import SingleSessionDataset

__all__ = [
    "MultiSessionDataset",
    "MultiSessionLoader",
    "ContinuousMultiSessionDataLoader",
    "DiscreteMultiSessionDataLoader",
    "MixedMultiSessionDataLoader",
    "UnifiedLoader",
]


class MultiSessionDataset(Dataset):
    """A dataset spanning several recording sessions.

    Sessions share the dimension of their index (the behaviour space) but may
    differ in signal dimension (e.g. number of neurons) and in length. All
    sessions use one :attr:`offset`; setting it sets it on every session.

    Subclasses implement :attr:`num_sessions` and :meth:`get_session`.
    """

    @property
    @abc.abstractmethod
    def num_sessions(self) -> int:
        """The number of sessions."""

    @abc.abstractmethod
    def get_session(self, session_id: int) -> SingleSessionDataset:
        """The dataset of one session."""

    @property
    def input_dimension(self) -> int:
        """Not defined for sessions of different widths: use :meth:`get_input_dimension`."""
        dims = {self.get_input_dimension(i) for i in range(self.num_sessions)}
        if len(dims) == 1:
            return dims.pop()
        raise ValueError(
            "The sessions have different input dimensions "
            f"({[self.get_input_dimension(i) for i in range(self.num_sessions)]}); "
            "use get_input_dimension(session_id)."
        )

    def get_input_dimension(self, session_id: int) -> int:
        """The signal dimension of session ``session_id``."""
        return self.get_session(session_id).input_dimension

    @property
    def session_lengths(self) -> List[int]:
        """The number of time steps of every session, in order."""
        return [len(session) for session in self.iter_sessions()]

    def iter_sessions(self) -> Iterator[SingleSessionDataset]:
        """Iterate over the sessions in order."""
        for session_id in range(self.num_sessions):
            yield self.get_session(session_id)

    def _check_session_id(self, session_id: Any) -> int:
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            if isinstance(session_id, torch.Tensor) and session_id.ndim == 0:
                session_id = int(session_id)
            else:
                raise TypeError(
                    f"session_id should be an integer, but got {type(session_id).__name__}."
                )
        if not 0 <= session_id < self.num_sessions:
            raise IndexError(
                f"session_id should be in 0 .. {self.num_sessions - 1}, but got {session_id}."
            )
        return session_id

    # -- offset shared by every session ----------------------------------------

    @property
    def offset(self) -> Offset:
        """The window shared by every session."""
        return self._offset

    @offset.setter
    def offset(self, offset: Any) -> None:
        offset = as_offset(offset)
        sessions = list(self.iter_sessions())
        for session in sessions:  # check every session first: all change, or none does
            check = getattr(session, "_check_offset_fits", None)
            if check is not None:
                check(offset)
        for session in sessions:
            session.offset = offset
        self._offset = offset

    def configure_for(self, model: Any) -> None:
        """Set the offset from one model, or from one model per session.

        Args:
            model: a model with ``get_offset()``, or a sequence (list,
                ``torch.nn.ModuleList``) of ``num_sessions`` such models. All
                models must agree on their offset: one embedding space needs
                one window length.

        Raises:
            ValueError: for a wrong number of models or disagreeing offsets.
            TypeError: for objects without ``get_offset``, or whose ``get_offset()``
                returns ``None``.
        """
        if callable(getattr(model, "get_offset", None)) and not isinstance(model, (list, tuple)):
            models: Sequence[Any] = [model] * self.num_sessions
        else:
            models = list(model)
            if len(models) != self.num_sessions:
                raise ValueError(
                    f"configure_for expects one model or one model per session "
                    f"({self.num_sessions}), but got {len(models)} models."
                )
        offsets = []
        for session_id, m in enumerate(models):
            if not callable(getattr(m, "get_offset", None)):
                raise TypeError(
                    f"The model for session {session_id} has no get_offset() method "
                    f"(got {type(m).__name__})."
                )
            offset = m.get_offset()
            if offset is None:  # as_offset would read None as its default, Offset(0, 1)
                raise TypeError(
                    f"configure_for expects {type(m).__name__}.get_offset() (the model for "
                    f"session {session_id}) to return an Offset, but it returned None. Return "
                    "the model's receptive field, e.g. Offset(5, 5)."
                )
            offsets.append(as_offset(offset))
        if len(set(offsets)) > 1:
            raise ValueError(
                "The models disagree in their offsets "
                f"({', '.join(repr(o) for o in offsets)}); all sessions must use one window."
            )
        self.offset = offsets[0]

    # -- indexing -------------------------------------------------------------

    def __getitem__(self, args: Tuple[int, torch.Tensor]) -> torch.Tensor:
        """``dataset[session_id, index]``: windows of one session."""
        if not isinstance(args, tuple) or len(args) != 2:
            raise TypeError(
                "Index a multi-session dataset with dataset[session_id, index], "
                f"but got {type(args).__name__}."
            )
        session_id, index = args
        return self.get_session(self._check_session_id(session_id))[index]

    def sample_mask(self) -> torch.Tensor:
        """The sessions' :meth:`~cebra_data.Dataset.sample_mask` concatenated in order."""
        return torch.cat([sample_mask_of(session) for session in self.iter_sessions()])

    def _check_multi_index(self, index: BatchIndex) -> None:
        for name in ("reference", "positive", "negative"):
            value = getattr(index, name)
            if len(value) != self.num_sessions:
                raise ValueError(
                    f"A multi-session BatchIndex needs one row of {name} indices per session "
                    f"({self.num_sessions}), but got {len(value)}."
                )

    def load_batch(self, index: BatchIndex) -> List[Batch]:
        """Gather one :class:`~cebra_data.Batch` per session.

        Args:
            index: a :class:`~cebra_data.BatchIndex` whose reference, positive
                and negative have shape ``(num_sessions, batch)``.

        Returns:
            A list of ``num_sessions`` batches, each carrying ``index`` and
            ``index_reversed`` of the batch index.
        """
        self._check_multi_index(index)
        batches = []
        for session_id, session in enumerate(self.iter_sessions()):
            sub = BatchIndex(
                reference=index.reference[session_id],
                positive=index.positive[session_id],
                negative=index.negative[session_id],
                index=index.index,
                index_reversed=index.index_reversed,
            )
            batches.append(session.load_batch(sub))
        return batches


# -- loaders ---------------------------------------------------------------------

@dataclasses.dataclass
class MultiSessionLoader(Loader):
    """Contrastive batches drawn across the sessions of a multi-session dataset.

    Every session contributes ``batch_size`` references and negatives, drawn
    uniformly from its valid time steps (``sample_mask()``). The positive for
    each reference is the exact nearest neighbour of its behaviour plus an
    empirical ``time_offset``-step change, searched in a randomly assigned
    session (see :class:`cebra_data.distributions.multisession.MultisessionSampler`).
    A batch is a list of per-session :class:`~cebra_data.Batch` objects
    carrying ``index`` and ``index_reversed``: re-order the stacked reference
    embeddings with :func:`~cebra_data.distributions.multisession.mix` and
    ``index`` to line them up with the positives.

    The sampler is built at construction, from the dataset's offset at that
    time; if the offset changes later (e.g. ``dataset.configure_for(model)``),
    it is rebuilt on the next batch, so every window keeps fitting.

    Args:
        dataset: a :class:`MultiSessionDataset` (e.g. :class:`~cebra_data.DatasetCollection`).
        num_steps: the number of batches an iteration yields.
        batch_size: the number of references per session and batch.
        time_offset: the time lag of the behaviour changes added to the queries.
        seed: keyword-only; the same seed and data give the same batches.

    Raises:
        TypeError: if ``dataset`` is not a multi-session dataset.
        cebra_data.errors.MissingIndexError: if a session lacks the index the
            loader needs (the message names the sessions).

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection, MultiSessionLoader
        >>> g = torch.Generator().manual_seed(0)
        >>> sessions = [TensorDataset(torch.randn(n, c, generator=g),
        ...                           continuous=torch.rand(n, 2, generator=g), offset=(2, 3))
        ...             for n, c in [(200, 10), (300, 25)]]
        >>> loader = MultiSessionLoader(DatasetCollection(sessions), num_steps=2, batch_size=16, seed=0)
        >>> batches = list(loader)
        >>> [tuple(b.reference.shape) for b in batches[0]]
        [(16, 10, 5), (16, 25, 5)]
    """

    def _check_configuration(self) -> None:
        if not is_multisession_like(self.dataset):
            raise TypeError(
                f"{type(self).__name__} expects a multi-session dataset (e.g. "
                "cebra_data.DatasetCollection, or any object with an integer num_sessions, "
                f"get_session and load_batch, as cebra.data's), but got "
                f"{type(self.dataset).__name__}. Use a single-session loader for a single session."
            )

    def _make_sampler(self, seed: int) -> Any:
        return MultisessionSampler(
            self.dataset, self.time_offset, conditional="time_delta", seed=seed
        )

    def _build(self) -> None:
        self.sampler = self._make_sampler(self._child_seed())

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw the indices of one batch.

        Args:
            num_samples: references per session; by default :attr:`batch_size`.

        Returns:
            A :class:`~cebra_data.BatchIndex`: reference, positive and negative
            of shape ``(num_sessions, num_samples)`` (negatives
            ``(num_sessions, num_negatives)``; time indices of each row's
            session), ``index`` and ``index_reversed`` of length
            ``num_sessions * num_samples``.
        """
        num_samples = self._num_samples(num_samples)
        self._refresh()
        reference = self.sampler.sample_prior(num_samples)
        negative = self.sampler.sample_prior(self._num_negatives(num_samples))
        positive, index, index_reversed = sample_positives(self.sampler, reference)
        return BatchIndex(reference, positive, negative, index, index_reversed)


@dataclasses.dataclass
class ContinuousMultiSessionDataLoader(MultiSessionLoader):
    """Multi-session contrastive learning conditioned on a continuous behaviour.

    Args:
        dataset: a :class:`MultiSessionDataset` (e.g. :class:`~cebra_data.DatasetCollection`).
        num_steps: the number of batches an iteration yields.
        batch_size: the number of references per session and batch.
        time_offset: see ``conditional``.
        conditional: ``"time_delta"`` -- the positive is the nearest neighbour,
            in a randomly assigned session, of the reference's behaviour plus an
            empirical ``time_offset``-step change (sessions are aligned through
            behaviour); ``"time"`` -- the positive is the reference
            ``+ time_offset`` in its own session, no behaviour is used and
            ``index`` is the identity (no cross-session matching).
        seed: keyword-only; the same seed and data give the same batches.

    Raises:
        cebra_data.errors.UnknownChoiceError: for another ``conditional``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection, ContinuousMultiSessionDataLoader
        >>> sessions = [TensorDataset(torch.zeros(n, 4), continuous=torch.rand(n, 1)) for n in (50, 70)]
        >>> loader = ContinuousMultiSessionDataLoader(DatasetCollection(sessions), num_steps=1,
        ...                                           batch_size=8, conditional="time", seed=0)
        >>> idx = loader.get_indices()
        >>> bool((idx.positive - idx.reference == 10).all())
        True
    """

    conditional: str = "time_delta"

    def _check_configuration(self) -> None:
        super()._check_configuration()
        check_choice(self.conditional, "multi-session conditional", MULTISESSION_CONDITIONALS)

    def _make_sampler(self, seed: int) -> Any:
        return MultisessionSampler(
            self.dataset, self.time_offset, conditional=self.conditional, seed=seed
        )

    @property
    def index(self) -> Optional[torch.Tensor]:
        """The sessions' continuous indices, concatenated."""
        return index_of(self.dataset, "continuous")


@dataclasses.dataclass
class DiscreteMultiSessionDataLoader(MultiSessionLoader):
    """Multi-session contrastive learning conditioned on a discrete label.

    References and negatives are uniform over each session's valid time steps;
    the positive of a reference is drawn uniformly among the valid time steps
    sharing its label in a randomly assigned session (see
    :class:`~cebra_data.distributions.multisession.DiscreteMultisessionSampler`).
    ``time_offset`` is accepted for CEBRA's signature and not used.

    Raises:
        cebra_data.errors.MissingIndexError: if a session has no discrete index.
        ValueError: if a label occurs in one session but not in another.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection, DiscreteMultiSessionDataLoader
        >>> sessions = [TensorDataset(torch.zeros(n, 3), discrete=torch.arange(n) % 4) for n in (40, 64)]
        >>> loader = DiscreteMultiSessionDataLoader(DatasetCollection(sessions), num_steps=1,
        ...                                         batch_size=6, seed=0)
        >>> loader.get_indices().positive.shape
        torch.Size([2, 6])
    """

    def _make_sampler(self, seed: int) -> Any:
        return DiscreteMultisessionSampler(self.dataset, seed=seed)

    @property
    def index(self) -> Optional[torch.Tensor]:
        """The sessions' discrete indices, concatenated."""
        return index_of(self.dataset, "discrete")


@dataclasses.dataclass
class MixedMultiSessionDataLoader(MultiSessionLoader):
    """Multi-session contrastive learning on a discrete label and a continuous behaviour.

    The positive of a reference shares its discrete label and is, among the
    valid time steps with that label in a randomly assigned session, the
    nearest to the reference's behaviour plus an empirical ``time_offset``-step
    change (see :class:`~cebra_data.distributions.multisession.MixedMultisessionSampler`).

    Raises:
        cebra_data.errors.MissingIndexError: if a session lacks either index.
        ValueError: if a label occurs in one session but not in another.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection, MixedMultiSessionDataLoader
        >>> sessions = [TensorDataset(torch.zeros(n, 3), continuous=torch.rand(n, 2),
        ...                           discrete=torch.arange(n) % 2) for n in (60, 90)]
        >>> loader = MixedMultiSessionDataLoader(DatasetCollection(sessions), num_steps=1,
        ...                                      batch_size=5, time_offset=1, seed=0)
        >>> loader.get_indices().index.shape
        torch.Size([10])
    """

    def _make_sampler(self, seed: int) -> Any:
        return MixedMultisessionSampler(self.dataset, self.time_offset, seed=seed)


@dataclasses.dataclass
class UnifiedLoader(ContinuousMultiSessionDataLoader):
    """Batches that treat all sessions as one pseudo-session, for one shared model.

    Use it with :class:`~cebra_data.UnifiedDataset`, whose batches concatenate
    the sessions along the neuron axis. For references and negatives a session
    is drawn, time steps are drawn uniformly from it, and every other session
    contributes its valid time step nearest in behaviour; positives are
    searched within each session, nearest to the reference's behaviour plus an
    empirical ``time_offset``-step change (see
    :class:`~cebra_data.distributions.multisession.UnifiedSampler`).

    Args:
        conditional: only ``"time_delta"``.

    Raises:
        cebra_data.errors.UnknownChoiceError: for another ``conditional``.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, UnifiedDataset, UnifiedLoader
        >>> sessions = [TensorDataset(torch.zeros(n, c), continuous=torch.rand(n, 2))
        ...             for n, c in [(80, 6), (120, 9)]]
        >>> loader = UnifiedLoader(UnifiedDataset(sessions), num_steps=1, batch_size=4, seed=0)
        >>> next(iter(loader)).reference.shape
        torch.Size([4, 15, 1])
    """

    def _check_configuration(self) -> None:
        # before the parent's check, which would list the choices of the other multi-session loaders
        check_choice(self.conditional, "UnifiedLoader conditional", ["time_delta"])
        super()._check_configuration()

    def _make_sampler(self, seed: int) -> Any:
        return UnifiedSampler(self.dataset, self.time_offset, seed=seed)

    def get_indices(self, num_samples: Optional[int] = None) -> BatchIndex:
        """Draw one batch of ``(num_sessions, num_samples)`` indices (no ``index`` to re-order)."""
        num_samples = self._num_samples(num_samples)
        self._refresh()
        return self.sampler.get_indices(num_samples, num_negatives=self._num_negatives(num_samples))
