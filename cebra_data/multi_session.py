"""Multi-session datasets and the loaders that sample across sessions."""

from __future__ import annotations

import abc
from typing import Any, Iterator, List, Sequence, Tuple

import torch

from cebra_data.base import Dataset, as_offset
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.single_session import SingleSessionDataset

__all__ = ["MultiSessionDataset"]


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
        for session in self.iter_sessions():
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
            TypeError: for objects without ``get_offset``.
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
            offsets.append(as_offset(m.get_offset()))
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
        return torch.cat([session.sample_mask() for session in self.iter_sessions()])

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
