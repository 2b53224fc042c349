"""The demo's model: a small convolutional encoder, the InfoNCE loss and embedding.

Example:
    >>> import torch
    >>> from cebra_data import TensorDataset
    >>> from cebra_data.demo.model import ConvEncoder, embed
    >>> model = ConvEncoder(4, generator=torch.Generator().manual_seed(0))
    >>> dataset = TensorDataset(torch.zeros(50, 4), continuous=torch.zeros(50, 1),
    ...                         offset=model.get_offset())
    >>> embed(model, dataset).shape
    (50, 3)
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from cebra_data import Offset
from cebra_data.demo.checks import check_int

__all__ = ["ConvEncoder", "infonce", "embed"]


class ConvEncoder(nn.Module):
    """A small convolutional encoder with a receptive field of ten time steps.

    Three 1-D convolutions of kernel size 4 (GELU in between) map a window
    ``(batch, num_neurons, 10)`` to ``(batch, output_dimension)`` on the unit
    sphere. :meth:`get_offset` returns ``Offset(5, 5)``, which is the window a
    dataset must serve (``dataset.configure_for(model)``).

    Args:
        num_neurons: input channels.
        num_units: hidden channels.
        output_dimension: embedding dimension.
        generator: the weights are drawn from it (default: a generator seeded
            with 0); no global random state is used.

    Example:
        >>> import torch
        >>> from cebra_data.demo import ConvEncoder
        >>> model = ConvEncoder(20, generator=torch.Generator().manual_seed(1))
        >>> model.get_offset()
        Offset(left=5, right=5, length=10)
        >>> model(torch.zeros(4, 20, 10)).shape
        torch.Size([4, 3])
    """

    def __init__(
        self,
        num_neurons: int,
        num_units: int = 32,
        output_dimension: int = 3,
        generator: Optional[torch.Generator] = None,
    ) -> None:
        super().__init__()
        self.num_neurons = check_int(num_neurons, "num_neurons", minimum=1)
        # skip_init builds the layers without drawing their default weights from
        # the global generator; reset_parameters draws them from ``generator``
        self.net = nn.Sequential(
            nn.utils.skip_init(nn.Conv1d, num_neurons, num_units, 4),
            nn.GELU(),
            nn.utils.skip_init(nn.Conv1d, num_units, num_units, 4),
            nn.GELU(),
            nn.utils.skip_init(nn.Conv1d, num_units, output_dimension, 4),
        )
        self.reset_parameters(generator if generator is not None else torch.Generator().manual_seed(0))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Draw every weight and bias uniformly in ``±1/sqrt(fan_in)`` from ``generator``.

        This is PyTorch's default initialisation of a convolution, drawn from
        an explicit generator instead of the global one.
        """
        with torch.no_grad():
            for layer in self.net:
                if isinstance(layer, nn.Conv1d):
                    bound = 1 / math.sqrt(layer.in_channels * layer.kernel_size[0])
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.uniform_(-bound, bound, generator=generator)

    def get_offset(self) -> Offset:
        """The window the encoder needs around a time step: five before, five from it on."""
        return Offset(5, 5)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Embed windows ``(batch, num_neurons, 10)`` into ``(batch, output_dimension)``."""
        out = self.net(windows).squeeze(-1)
        return nn.functional.normalize(out, dim=1)


def infonce(
    reference: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """InfoNCE loss with cosine similarity.

    For reference ``r_i``, positive ``p_i`` and negatives ``n_j`` (all
    normalised to unit length), the loss is the mean over ``i`` of
    ``-cos(r_i, p_i) / T + log sum_j exp(cos(r_i, n_j) / T)``. Its value for an
    embedding that ignores its input is ``log(batch)``.

    Args:
        reference: ``(batch, dim)`` embeddings.
        positive: ``(batch, dim)`` embeddings, row ``i`` the positive of ``reference[i]``.
        negative: ``(num_negatives, dim)`` embeddings shared by every reference.
        temperature: ``T``; smaller values sharpen the similarity.

    Returns:
        The scalar loss.

    Example:
        >>> import torch
        >>> from cebra_data.demo import infonce
        >>> x = torch.nn.functional.normalize(torch.ones(8, 3), dim=1)
        >>> round(float(infonce(x, x, x)), 4) == round(float(torch.log(torch.tensor(8.0))), 4)
        True
    """
    reference = nn.functional.normalize(reference, dim=1)
    positive = nn.functional.normalize(positive, dim=1)
    negative = nn.functional.normalize(negative, dim=1)
    alignment = (reference * positive).sum(dim=1) / temperature
    similarity = reference @ negative.T / temperature
    return (torch.logsumexp(similarity, dim=1) - alignment).mean()


@torch.no_grad()
def embed(model: nn.Module, dataset: Any, batch_size: int = 4096) -> np.ndarray:
    """Embed every time step of a single-session dataset, in order.

    Windows near the edges follow the dataset's edge rule (see
    :meth:`cebra_data.Dataset.expand_index`), so the result has one row per
    time step.

    Args:
        model: the encoder; it is switched to evaluation mode.
        dataset: a single-session dataset whose offset is the model's window.
        batch_size: time steps embedded per forward pass (memory, not results).

    Returns:
        ``(len(dataset), output_dimension)`` embedding as a NumPy array.
    """
    model.eval()
    index = torch.arange(len(dataset), device=dataset.device)
    parts = [model(dataset[chunk]) for chunk in index.split(batch_size)]
    return torch.cat(parts).cpu().numpy()
