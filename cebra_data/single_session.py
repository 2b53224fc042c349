"""Single-session datasets and the loaders that sample from them."""

from __future__ import annotations

import abc

import torch

from cebra_data.base import Dataset, as_index_tensor
from cebra_data.datatypes import Batch, BatchIndex, Offset

__all__ = ["SingleSessionDataset"]


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
        masks = getattr(self, "apply_mask", None)
        if masks is not None:
            windows = self.apply_mask(windows)
        reference, positive, negative = windows.split([p.numel() for p in parts])
        return Batch(
            reference=reference,
            positive=positive,
            negative=negative,
            index=index.index,
            index_reversed=index.index_reversed,
        )
