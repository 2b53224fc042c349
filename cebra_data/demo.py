"""The end-to-end demo behind ``cebra-data demo``: data, encoder, loss, training, metrics.

The demo fits a small contrastive encoder on batches drawn by each of the
package's loaders and reports, per loader, how fast the data layer produced
batches and how good the resulting embedding is. Everything the command does
is importable from here, so it can be tested and reused piece by piece:

* :func:`make_linear_track` -- deterministic synthetic recordings of a rat on a
  1.6 m linear track (place-cell-like neurons with direction-dependent tuning,
  Poisson spike counts), one :class:`Recording` per session.
* :class:`ConvEncoder` -- a small 1-D convolutional encoder whose receptive
  field is ten time steps (``get_offset()`` is ``Offset(5, 5)``), initialised
  from an explicit ``torch.Generator``.
* :func:`infonce` -- the InfoNCE loss with cosine similarity and a temperature.
* :func:`fit` -- the training loop over a loader (single- or multi-session),
  timing the data layer separately from the model.
* :func:`knn_r2` and :func:`consistency_r2` -- position decoding on a held-out
  part of each recording and cross-session consistency.
* :func:`run_demo` -- all fits of the default plan and their table,
  :func:`format_table` and :func:`plot_embeddings` to present them.

Randomness: the synthetic data come from ``numpy.random.default_rng(seed)``,
every model is initialised from its own seeded ``torch.Generator`` and every
loader gets its own seed derived from ``seed``; no global random state is read
or written, so the same seed prints the same table (up to floating-point
differences between machines).

Example:
    >>> from cebra_data.demo import DemoConfig, make_linear_track
    >>> sessions = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))
    >>> [r.neural.shape for r in sessions]
    [(300, 60), (320, 90), (340, 120)]
    >>> sessions[0].continuous.shape, sorted(set(sessions[0].discrete.tolist()))
    ((300, 1), [0, 1])
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import zlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple, Union

import numpy as np
import torch
from torch import nn

import cebra_data
from cebra_data._validation import check_float, check_int, check_positive_int
from cebra_data.datasets import DatasetCollection, TensorDataset, UnifiedDataset
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.distributions.multisession import mix
from cebra_data.io import load_data
from cebra_data.splits import split_dataset

__all__ = [
    "DemoConfig",
    "Recording",
    "FitSpec",
    "FitResult",
    "Row",
    "DemoResult",
    "make_linear_track",
    "load_recordings",
    "ConvEncoder",
    "infonce",
    "fit",
    "embed",
    "knn_r2",
    "consistency_r2",
    "default_plan",
    "run_demo",
    "format_table",
    "plot_embeddings",
    "BenchmarkRow",
    "benchmark_loaders",
    "format_benchmark",
]

TRACK_LENGTH = 1.6
"""Length of the synthetic linear track, in metres."""


# --------------------------------------------------------------------------- configuration


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Every size and hyper-parameter of the demo.

    The defaults are the command's: three sessions of 60, 90 and 120 neurons,
    a few hundred training steps per fit, the whole demo in well under two
    minutes on two CPU cores. Tests shrink ``num_samples`` and ``steps``.

    Attributes:
        seed: seeds the synthetic data, every model initialisation and every
            loader (each with its own derived seed).
        steps: training steps (batches) per fit.
        batch_size: references per batch (per session for multi-session fits).
        num_neurons: neurons of each synthetic session.
        num_samples: time steps of each synthetic session (25 ms bins).
        test_fraction: the final part of every recording held out for decoding.
        num_units: hidden channels of the encoder.
        output_dimension: dimension of the embedding (on the unit sphere).
        temperature: InfoNCE temperature.
        learning_rate: Adam learning rate.
        time_offset: ``time_offset`` of the loaders (time steps between a
            reference and its positive for ``"time"``, the lag of the empirical
            behaviour changes for ``"time_delta"``).
        neighbours: ``k`` of the kNN position decoder.
        bins: number of position bins for the consistency metric.
        device: torch device for models and data.
        single_session: which session the single-session fits use.
        threads: torch CPU threads while the demo runs (restored afterwards);
            ``None`` leaves torch's setting alone. One thread is the fastest
            for this small model, and robust on a busy machine.
    """

    seed: int = 0
    steps: int = 300
    batch_size: int = 256
    num_neurons: Tuple[int, ...] = (60, 90, 120)
    num_samples: Tuple[int, ...] = (3000, 3600, 4200)
    test_fraction: float = 0.2
    num_units: int = 32
    output_dimension: int = 3
    temperature: float = 0.5
    learning_rate: float = 3e-3
    time_offset: int = 10
    neighbours: int = 15
    bins: int = 20
    device: str = "cpu"
    single_session: int = -1
    threads: Optional[int] = 1

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", minimum=0)
        check_positive_int(self.steps, "steps")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.num_units, "num_units")
        check_positive_int(self.output_dimension, "output_dimension")
        check_positive_int(self.neighbours, "neighbours")
        check_int(self.bins, "bins", minimum=2)
        check_int(self.time_offset, "time_offset", minimum=1)
        check_float(self.temperature, "temperature", strictly_positive=True)
        check_float(self.learning_rate, "learning_rate", strictly_positive=True)
        if self.threads is not None:
            check_positive_int(self.threads, "threads")
        fraction = check_float(self.test_fraction, "test_fraction", strictly_positive=True)
        if fraction >= 1:
            raise ValueError(f"test_fraction should be in (0, 1), but got test_fraction={fraction}.")
        if len(self.num_neurons) != len(self.num_samples) or not self.num_neurons:
            raise ValueError(
                "num_neurons and num_samples should give one value per session, but got "
                f"{len(self.num_neurons)} and {len(self.num_samples)} values."
            )
        for value in (*self.num_neurons, *self.num_samples):
            check_positive_int(value, "num_neurons/num_samples")


# --------------------------------------------------------------------------- data


@dataclasses.dataclass
class Recording:
    """One session: neural activity and its behaviour labels.

    Attributes:
        neural: ``(N, neurons)`` float32 signal (spike counts for the synthetic data).
        continuous: ``(N, d)`` float32 continuous behaviour (position), or ``None``.
        discrete: ``(N,)`` int64 discrete behaviour (running direction), or ``None``.
        name: a short label for tables and figures.
    """

    neural: np.ndarray
    continuous: Optional[np.ndarray]
    discrete: Optional[np.ndarray]
    name: str

    def dataset(self, offset: Offset, device: str = "cpu") -> TensorDataset:
        """The recording as a :class:`~cebra_data.TensorDataset` with every label it has."""
        return TensorDataset(self.neural, continuous=self.continuous, discrete=self.discrete,
                             offset=offset, device=device)


def _trajectory(rng: np.random.Generator, num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
    """Back-and-forth runs on the track: position (m) and running direction (1 = outbound)."""
    position = np.empty(num_samples, dtype=np.float64)
    direction = np.empty(num_samples, dtype=np.int64)
    t, here, outbound = 0, 0.0, True
    while t < num_samples:
        pause = int(rng.integers(5, 25))  # licking at the reward site
        run = int(rng.integers(70, 140))  # one traversal, 1.75 to 3.5 s at 25 ms per bin
        stop = min(t + pause, num_samples)
        position[t:stop] = here
        direction[t:stop] = int(outbound)
        t = stop
        target = TRACK_LENGTH if outbound else 0.0
        phase = (1 - np.cos(np.pi * np.arange(1, run + 1) / run)) / 2
        stop = min(t + run, num_samples)
        position[t:stop] = here + (target - here) * phase[: stop - t]
        direction[t:stop] = int(outbound)
        t, here, outbound = stop, target, not outbound
    return position, direction


def _session(rng: np.random.Generator, num_neurons: int, num_samples: int, name: str) -> Recording:
    position, direction = _trajectory(rng, num_samples)
    # place fields: a centre, a width and a peak rate per neuron; a third of the
    # neurons remap (another centre) on the return run, the rest are modulated
    # by direction through a gain
    centre_out = rng.uniform(0, TRACK_LENGTH, num_neurons)
    remaps = rng.random(num_neurons) < 1 / 3
    centre_back = np.where(remaps, rng.uniform(0, TRACK_LENGTH, num_neurons), centre_out)
    width = rng.uniform(0.08, 0.2, num_neurons)
    peak = rng.uniform(0.3, 1.2, num_neurons)  # spikes per 25 ms bin
    gain_out = np.where(remaps, 1.0, rng.uniform(0.3, 1.0, num_neurons))
    gain_back = np.where(remaps, 1.0, 1.3 - gain_out)
    outbound = direction[:, None] == 1
    centre = np.where(outbound, centre_out, centre_back)
    gain = np.where(outbound, gain_out, gain_back)
    rate = 0.03 + peak * gain * np.exp(-0.5 * ((position[:, None] - centre) / width) ** 2)
    spikes = rng.poisson(rate).astype(np.float32)
    return Recording(spikes, position[:, None].astype(np.float32), direction, name)


def make_linear_track(config: Optional[DemoConfig] = None) -> List[Recording]:
    """Synthetic sessions of a rat running back and forth on a 1.6 m linear track.

    Each session has its own trajectory (runs of random duration with pauses at
    the ends) and its own neurons: place-cell-like tuning to position, modulated
    or remapped by running direction, with Poisson spike counts in 25 ms bins.
    Labels: ``continuous`` is the position in metres ``(N, 1)``, ``discrete``
    the running direction (1 outbound, 0 back).

    Args:
        config: sizes and seed (default :class:`DemoConfig`).

    Returns:
        One :class:`Recording` per entry of ``config.num_neurons``. The same
        seed gives the same arrays on every machine.
    """
    config = config or DemoConfig()
    children = np.random.SeedSequence(config.seed).spawn(len(config.num_neurons))
    return [
        _session(np.random.default_rng(child), neurons, samples, f"rat {i + 1}")
        for i, (child, neurons, samples) in enumerate(
            zip(children, config.num_neurons, config.num_samples)
        )
    ]


def load_recordings(
    neural: Sequence[Union[str, os.PathLike]],
    behavior: Sequence[Union[str, os.PathLike]],
    neural_key: Optional[str] = None,
    behavior_key: Optional[str] = None,
) -> List[Recording]:
    """Load one :class:`Recording` per pair of files through :func:`cebra_data.load_data`.

    The behaviour file's array becomes the discrete index if it holds integers
    in one column (e.g. trial types), else the continuous index (every column,
    as float32).

    Raises:
        ValueError: for a different number of neural and behaviour files, for
            files of different lengths, or a neural array that is not 2-D.
        OSError, KeyError, TypeError: from :func:`cebra_data.load_data` for a
            missing, unreadable or non-numeric file or an unknown key.
    """
    if len(neural) != len(behavior):
        raise ValueError(
            f"Pass one --behavior file per --neural file, but got {len(neural)} neural and "
            f"{len(behavior)} behavior files."
        )
    recordings = []
    for i, (neural_path, behavior_path) in enumerate(zip(neural, behavior)):
        signal = np.asarray(load_data(neural_path, key=neural_key))
        labels = np.asarray(load_data(behavior_path, key=behavior_key))
        if signal.ndim != 2:
            raise ValueError(
                f"{neural_path} should hold a 2-D array (time steps, neurons), but holds shape "
                f"{signal.shape}."
            )
        if len(signal) != len(labels):
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{len(signal)}, {len(labels)}] ({neural_path} and {behavior_path})."
            )
        if labels.dtype.kind in "iub" and (labels.ndim == 1 or labels.shape[1] == 1):
            continuous, discrete = None, labels.reshape(-1).astype(np.int64)
        else:
            continuous = labels.reshape(len(labels), -1).astype(np.float32)
            discrete = None
        recordings.append(
            Recording(signal.astype(np.float32, copy=False), continuous, discrete,
                      os.path.basename(os.fspath(neural_path)) or f"session {i + 1}")
        )
    return recordings


# --------------------------------------------------------------------------- model and loss


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
        self.num_neurons = check_positive_int(num_neurons, "num_neurons")
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


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class FitResult:
    """What one training run measured.

    Attributes:
        losses: the loss of every step.
        data_seconds: time spent drawing and gathering batches (the data layer).
        total_seconds: wall time of the whole run.
    """

    losses: List[float]
    data_seconds: float
    total_seconds: float

    @property
    def batches_per_second(self) -> float:
        """Batches the data layer delivered per second of its own time."""
        return len(self.losses) / self.data_seconds if self.data_seconds > 0 else float("inf")

    @property
    def final_loss(self) -> float:
        """Mean loss over the last tenth of the steps (at least one)."""
        tail = max(1, len(self.losses) // 10)
        return float(np.mean(self.losses[-tail:]))


class _Progress:
    """A plain-text progress bar on a stream (redrawn in place on a terminal)."""

    def __init__(self, stream: Optional[TextIO], label: str, total: int, width: int = 30) -> None:
        self.stream, self.label, self.total, self.width = stream, label, total, width
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.every = max(1, total // 100)

    def _line(self, step: int, loss: float) -> str:
        filled = int(self.width * step / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        return f"{self.label:<34} [{bar}] {step:>5}/{self.total} loss {loss:7.3f}"

    def update(self, step: int, loss: float) -> None:
        if self.tty and (step % self.every == 0 or step == self.total):
            self.stream.write("\r" + self._line(step, loss))
            self.stream.flush()

    def close(self, step: int, loss: float, seconds: float) -> None:
        if self.stream is None:
            return
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}{self._line(step, loss)} {seconds:5.1f} s\n")
        self.stream.flush()


def _multi_session_embeddings(
    models: Sequence[nn.Module], batches: Sequence[Batch]
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    reference = torch.stack([m(b.reference) for m, b in zip(models, batches)])
    positive = torch.stack([m(b.positive) for m, b in zip(models, batches)])
    negative = torch.stack([m(b.negative) for m, b in zip(models, batches)])
    if batches[0].index_reversed is not None:
        # row k of the positives becomes the positive of reference k
        positive = mix(positive, batches[0].index_reversed)
    dim = reference.shape[-1]
    return reference.reshape(-1, dim), positive.reshape(-1, dim), negative.reshape(-1, dim)


def fit(
    model: Union[nn.Module, Sequence[nn.Module]],
    loader: Any,
    *,
    temperature: float = 0.5,
    learning_rate: float = 3e-3,
    progress: Optional[TextIO] = None,
    label: str = "fit",
) -> FitResult:
    """Train ``model`` with InfoNCE on every batch of ``loader``.

    Single-session loaders yield one :class:`~cebra_data.Batch` per step;
    multi-session loaders yield one batch per session, and ``model`` is then a
    sequence of one encoder per session. The positives of the sessions are
    stacked and reordered with the batch's ``index_reversed`` so that row
    ``i`` of the positives belongs to reference ``i`` (as CEBRA's
    multi-session solver does), and all sessions share one loss.

    Two single-session special cases are handled as CEBRA's solvers do: a
    loader that yields :class:`~cebra_data.BatchIndex` objects (the
    full-batch :class:`~cebra_data.FullDataLoader`) has its windows gathered
    with ``loader.dataset.load_batch`` (counted as data-layer time), and a
    batch with twice as many positives as references (the
    :class:`~cebra_data.HybridDataLoader`: behaviour positives, then time
    positives) is trained on the sum of the two InfoNCE losses.

    Args:
        model: one encoder, or one encoder per session.
        loader: any iterable of batches (e.g. a cebra_data loader); it
            decides the number of steps.
        temperature: InfoNCE temperature.
        learning_rate: Adam learning rate.
        progress: stream for the progress bar (``None`` for silence).
        label: the progress bar's label.

    Returns:
        The per-step losses and the time spent in the data layer.
    """
    models = list(model) if isinstance(model, (list, tuple, nn.ModuleList)) else [model]
    parameters = [p for m in models for p in m.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    total = len(loader) if hasattr(loader, "__len__") else 0
    bar = _Progress(progress, label, max(total, 1))
    for m in models:
        m.train()
    losses: List[float] = []
    data_seconds = 0.0
    start = time.perf_counter()
    iterator = iter(loader)
    while True:
        tick = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            break
        if isinstance(batch, BatchIndex):
            batch = loader.dataset.load_batch(batch)
        data_seconds += time.perf_counter() - tick
        if isinstance(batch, Batch):
            reference = models[0](batch.reference)
            positive = models[0](batch.positive)
            negative = models[0](batch.negative)
        else:
            reference, positive, negative = _multi_session_embeddings(models, batch)
        if len(positive) == 2 * len(reference):  # hybrid: behaviour, then time positives
            behaviour, in_time = positive.split(len(reference))
            loss = (infonce(reference, behaviour, negative, temperature)
                    + infonce(reference, in_time, negative, temperature))
        else:
            loss = infonce(reference, positive, negative, temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        bar.update(len(losses), losses[-1])
    seconds = time.perf_counter() - start
    bar.close(len(losses), losses[-1] if losses else float("nan"), seconds)
    return FitResult(losses, data_seconds, seconds)


# --------------------------------------------------------------------------- metrics


@torch.no_grad()
def embed(model: nn.Module, dataset: Any, batch_size: int = 4096) -> np.ndarray:
    """Embed every time step of a single-session dataset, in order.

    Windows near the edges follow the dataset's edge rule (see
    :meth:`cebra_data.Dataset.expand_index`), so the result has one row per
    time step.
    """
    model.eval()
    index = torch.arange(len(dataset), device=dataset.device)
    parts = [model(dataset[chunk]) for chunk in index.split(batch_size)]
    return torch.cat(parts).cpu().numpy()


def _r2(true: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination, averaged uniformly over columns."""
    true = true.reshape(len(true), -1).astype(np.float64)
    predicted = predicted.reshape(len(predicted), -1).astype(np.float64)
    residual = ((true - predicted) ** 2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
    return float(scores.mean())


def knn_r2(
    train_embedding: np.ndarray,
    train_labels: np.ndarray,
    test_embedding: np.ndarray,
    test_labels: np.ndarray,
    neighbours: int = 15,
) -> float:
    """R² of a k-nearest-neighbour decoder (cosine similarity) fit on the train part.

    Each test point's prediction is the mean label of its ``neighbours`` most
    similar training points. Deterministic: ties in similarity go to the
    earlier training point.

    Example:
        >>> import numpy as np
        >>> from cebra_data.demo import knn_r2
        >>> angle = np.linspace(0, 3, 200)
        >>> emb = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        >>> round(knn_r2(emb[::2], angle[::2], emb[1::2], angle[1::2], neighbours=2), 2)
        1.0
    """
    train = torch.nn.functional.normalize(torch.as_tensor(train_embedding, dtype=torch.float64), dim=1)
    test = torch.nn.functional.normalize(torch.as_tensor(test_embedding, dtype=torch.float64), dim=1)
    labels = torch.as_tensor(np.asarray(train_labels, dtype=np.float64).reshape(len(train), -1))
    k = min(neighbours, len(train))
    predictions = []
    for chunk in test.split(2048):
        nearest = (chunk @ train.T).topk(k, dim=1).indices
        predictions.append(labels[nearest].mean(dim=1))
    return _r2(np.asarray(test_labels), torch.cat(predictions).numpy())


def _binned_means(embedding: np.ndarray, position: np.ndarray, edges: np.ndarray) -> np.ndarray:
    bins = np.clip(np.searchsorted(edges, position.reshape(-1), side="right") - 1, 0, len(edges) - 2)
    means = np.full((len(edges) - 1, embedding.shape[1]), np.nan)
    for b in np.unique(bins):
        means[b] = embedding[bins == b].mean(axis=0)
    return means


def consistency_r2(
    embeddings: Sequence[np.ndarray], labels: Sequence[np.ndarray], bins: int = 20
) -> float:
    """Cross-session consistency: R² of linear maps between behaviour-matched embeddings.

    Each session's time steps are binned by their (first) behaviour column
    into ``bins`` equal-width bins over the common range; each bin's mean
    embedding is one point. For every ordered pair of sessions, a linear map
    with intercept is fit by least squares from one session's bin means to the
    other's (bins empty in either are skipped) and scored by R². The result is
    the mean over pairs: 1 for embeddings that agree up to a linear map, near
    0 for unrelated ones; NaN if no pair shares enough bins (more than the
    embedding dimension plus one).

    Raises:
        ValueError: with fewer than two sessions.
    """
    if len(embeddings) < 2:
        raise ValueError("consistency_r2 needs at least two sessions.")
    first = [np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0] for y in labels]
    low = max(float(y.min()) for y in first)
    high = min(float(y.max()) for y in first)
    if not high > low:
        low, high = min(float(y.min()) for y in first), max(float(y.max()) for y in first)
    edges = np.linspace(low, high, bins + 1)
    means = [_binned_means(np.asarray(e, np.float64), y, edges) for e, y in zip(embeddings, first)]
    scores = []
    for i, source in enumerate(means):
        for j, target in enumerate(means):
            if i == j:
                continue
            keep = ~(np.isnan(source).any(axis=1) | np.isnan(target).any(axis=1))
            if int(keep.sum()) < source.shape[1] + 2:
                continue  # too few shared bins for a meaningful fit
            design = np.hstack([source[keep], np.ones((int(keep.sum()), 1))])
            weights, *_ = np.linalg.lstsq(design, target[keep], rcond=None)
            scores.append(_r2(target[keep], design @ weights))
    return float(np.mean(scores)) if scores else float("nan")


# --------------------------------------------------------------------------- the plan


@dataclasses.dataclass(frozen=True)
class FitSpec:
    """One row of the demo's table: which loader, trained how.

    Attributes:
        name: the row's label, e.g. ``"time_delta (position)"``.
        loader: the name of the cebra_data loader class.
        options: keyword arguments of the loader besides dataset, steps,
            batch size and seed.
        shuffle: train on labels permuted in time (a control); decoding
            still uses the true labels.
        multi_session: fit one encoder per session on a DatasetCollection.
    """

    name: str
    loader: str
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    shuffle: bool = False
    multi_session: bool = False


def default_plan(
    recordings: Sequence[Recording], behaviour: str = "position", label: str = "direction"
) -> List[FitSpec]:
    """The fits the demo runs for these recordings.

    Time-contrastive; time-delta on the continuous behaviour and on the same
    behaviour shuffled in time; discrete and mixed where a discrete label
    exists; multi-session (and its shuffled control) where there are several
    sessions with a continuous behaviour.

    Args:
        recordings: the sessions (their labels decide which fits apply).
        behaviour: the name of the continuous behaviour, for the row labels.
        label: the name of the discrete label, for the row labels.
    """
    has_continuous = all(r.continuous is not None for r in recordings)
    has_discrete = all(r.discrete is not None for r in recordings)
    plan = [FitSpec("time contrastive", "ContinuousDataLoader", {"conditional": "time"})]
    if has_continuous:
        plan += [
            FitSpec(f"time_delta ({behaviour})", "ContinuousDataLoader",
                    {"conditional": "time_delta"}),
            FitSpec(f"time_delta (shuffled {behaviour})", "ContinuousDataLoader",
                    {"conditional": "time_delta"}, shuffle=True),
        ]
    if has_discrete:
        plan.append(FitSpec(f"discrete ({label})", "DiscreteDataLoader"))
    if has_continuous and has_discrete:
        plan.append(FitSpec(f"mixed ({behaviour} + {label})", "MixedDataLoader"))
    if has_continuous and len(recordings) > 1:
        plan += [
            FitSpec(f"multi-session ({behaviour})", "ContinuousMultiSessionDataLoader",
                    {"conditional": "time_delta"}, multi_session=True),
            FitSpec(f"multi-session (shuffled {behaviour})", "ContinuousMultiSessionDataLoader",
                    {"conditional": "time_delta"}, shuffle=True, multi_session=True),
        ]
    return plan


@dataclasses.dataclass
class Row:
    """One line of the table (see :func:`format_table`)."""

    name: str
    batches_per_second: Optional[float] = None
    final_loss: Optional[float] = None
    decoding_r2: Optional[float] = None
    consistency: Optional[float] = None
    seconds: Optional[float] = None
    note: str = ""
    embeddings: List[np.ndarray] = dataclasses.field(default_factory=list, repr=False)
    colours: List[np.ndarray] = dataclasses.field(default_factory=list, repr=False)


@dataclasses.dataclass
class DemoResult:
    """The outcome of :func:`run_demo`.

    Attributes:
        rows: one :class:`Row` per fit, in plan order.
        description: one line describing the data.
        figure: path of the written figure, or ``None``.
        figure_note: why no figure was written, if so.
        seconds: wall time of the whole demo.
    """

    rows: List[Row]
    description: str
    figure: Optional[str] = None
    figure_note: str = ""
    seconds: float = 0.0

    def row(self, name: str) -> Row:
        """The row called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"No row {name!r}; rows are {[r.name for r in self.rows]}.")


def _shuffled(dataset: Any, rng: np.random.Generator) -> Any:
    """The same signal with every label permuted in time (one permutation for all labels)."""
    permutation = torch.as_tensor(rng.permutation(len(dataset)), device=dataset.device)
    continuous, discrete = dataset.continuous_index, dataset.discrete_index
    return TensorDataset(
        dataset.neural,
        continuous=None if continuous is None else continuous[permutation],
        discrete=None if discrete is None else discrete[permutation],
        offset=dataset.offset,
        device=dataset.device,
    )


def _target(dataset: Any) -> np.ndarray:
    """The labels decoding is scored on: the continuous behaviour, else the discrete one."""
    if dataset.continuous_index is not None:
        return dataset.continuous_index.cpu().numpy()
    return dataset.discrete_index.cpu().numpy().astype(np.float64)[:, None]


def _split(recordings: Sequence[Recording], offset: Offset,
           config: DemoConfig) -> List[Tuple[TensorDataset, TensorDataset]]:
    """Train and held-out test part of every recording, cut by time with a window-sized gap."""
    fractions = (1 - config.test_fraction, config.test_fraction)
    parts = [split_dataset(r.dataset(offset, config.device), fractions, names=("train", "test"))
             for r in recordings]
    return [(split.train, split.test) for split in parts]


def _run_one(spec: FitSpec, splits: Sequence[Tuple[Any, Any]], config: DemoConfig,
             progress: Optional[TextIO]) -> Row:
    loader_cls = getattr(cebra_data, spec.loader, None)
    if loader_cls is None:
        return Row(spec.name, note=f"unavailable: cebra_data.{spec.loader} is not installed")
    # every fit's seeds follow from the demo's seed and the fit's name only
    key = zlib.crc32(spec.name.encode("utf-8"))
    seeds = np.random.SeedSequence([config.seed, key]).generate_state(3, dtype=np.uint32)
    sessions = splits if spec.multi_session else [splits[config.single_session]]
    models = [
        ConvEncoder(train.input_dimension, config.num_units, config.output_dimension,
                    generator=torch.Generator().manual_seed(int(seeds[0]) + i)).to(config.device)
        for i, (train, _) in enumerate(sessions)
    ]
    shuffle_rng = np.random.default_rng(int(seeds[1]))
    train_sets = [_shuffled(train, shuffle_rng) if spec.shuffle else train for train, _ in sessions]
    dataset = DatasetCollection(train_sets) if spec.multi_session else train_sets[0]
    options = dict(spec.options)
    if spec.loader != "DiscreteDataLoader":
        options.setdefault("time_offset", config.time_offset)
    loader = loader_cls(dataset, num_steps=config.steps, batch_size=config.batch_size,
                        seed=int(seeds[2]), **options)
    result = fit(models if spec.multi_session else models[0], loader,
                 temperature=config.temperature, learning_rate=config.learning_rate,
                 progress=progress, label=spec.name)
    # evaluation uses the true labels and the held-out part of every session
    scores, embeddings, targets = [], [], []
    for (train, test), model in zip(sessions, models):
        test_embedding = embed(model, test)
        scores.append(knn_r2(embed(model, train), _target(train), test_embedding, _target(test),
                             config.neighbours))
        embeddings.append(test_embedding)
        targets.append(_target(test))
    consistency = consistency_r2(embeddings, targets, config.bins) if spec.multi_session else None
    return Row(spec.name, result.batches_per_second, result.final_loss, float(np.mean(scores)),
               consistency, result.total_seconds, embeddings=embeddings,
               colours=[t[:, 0] for t in targets])


@contextlib.contextmanager
def _torch_threads(threads: Optional[int]) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads, then restore the previous number."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_demo(
    config: Optional[DemoConfig] = None,
    recordings: Optional[Sequence[Recording]] = None,
    out_dir: Optional[Union[str, os.PathLike]] = None,
    progress: Optional[TextIO] = sys.stderr,
    plan: Optional[Sequence[FitSpec]] = None,
    behaviour: str = "position",
    label: str = "direction",
) -> DemoResult:
    """Run every fit of the plan and collect the table (and the figure).

    Args:
        config: sizes and hyper-parameters (default :class:`DemoConfig`).
        recordings: the sessions to fit; default the synthetic linear track.
        out_dir: where to write ``embeddings.png``; ``None`` writes no figure.
        progress: stream for progress bars (``None`` for silence).
        plan: the fits to run (default :func:`default_plan`).
        behaviour: the name of the continuous behaviour in row labels.
        label: the name of the discrete label in row labels.

    Returns:
        A :class:`DemoResult`; loaders missing from this installation give a
        row with a note instead of numbers.
    """
    config = config or DemoConfig()
    start = time.perf_counter()
    synthetic = recordings is None
    recordings = list(make_linear_track(config) if synthetic else recordings)
    plan = list(plan if plan is not None else default_plan(recordings, behaviour, label))
    offset = ConvEncoder(1).get_offset()
    splits = _split(recordings, offset, config)
    if synthetic:
        description = (
            f"Synthetic linear track (seed {config.seed}): {len(recordings)} sessions, "
            + ", ".join(f"{r.neural.shape[1]} neurons x {len(r.neural)} steps" for r in recordings)
            + f"; last {config.test_fraction:.0%} of each held out (after a gap of one window); "
            f"single-session fits on {recordings[config.single_session].name}"
        )
    else:
        description = (
            f"{len(recordings)} session(s) from files: "
            + ", ".join(f"{r.name} ({r.neural.shape[1]} x {len(r.neural)})" for r in recordings)
            + f"; last {config.test_fraction:.0%} held out"
        )
    with _torch_threads(config.threads):
        rows = [_run_one(spec, splits, config, progress) for spec in plan]
    result = DemoResult(rows, description)
    if out_dir is not None:
        try:
            result.figure = plot_embeddings(rows, out_dir, behaviour)
        except ModuleNotFoundError as err:
            if not (err.name or "").startswith("matplotlib"):
                raise
            result.figure_note = (
                "no figure: matplotlib is not installed "
                '(pip install -e ".[demo]" or pip install matplotlib)'
            )
    result.seconds = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------- presentation


def _cell(value: Optional[float], fmt: str) -> str:
    if value is None:
        return "-"
    return "n/a" if not np.isfinite(value) else format(value, fmt)


def format_table(result: DemoResult) -> str:
    """The demo's table as plain text, one row per fit.

    Columns: the data layer's batches per second, the final InfoNCE loss, the
    R² of a kNN decoder of the behaviour on the held-out part, and for
    multi-session fits the cross-session consistency R². A fit that could not
    run shows its note instead of numbers.
    """
    header = ["loader", "batches/s", "final loss", "decoding R2", "consistency R2"]
    cells = [
        [row.name, _cell(row.batches_per_second, ".0f"), _cell(row.final_loss, ".3f"),
         _cell(row.decoding_r2, ".3f"), _cell(row.consistency, ".3f")]
        for row in result.rows
        if not row.note
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    widths[0] = max([widths[0]] + [len(row.name) for row in result.rows])

    def render(line: Sequence[str]) -> str:
        rest = [value.rjust(width) for value, width in zip(line[1:], widths[1:])]
        return "  ".join([line[0].ljust(widths[0]), *rest])

    lines = [render(header), "-" * len(render(header))]
    numbers = iter(cells)
    for row in result.rows:
        lines.append(f"{row.name.ljust(widths[0])}  {row.note}" if row.note else render(next(numbers)))
    return "\n".join(lines)


def plot_embeddings(rows: Sequence[Row], out_dir: Union[str, os.PathLike],
                    behaviour: str = "position") -> str:
    """Write ``embeddings.png``: each fit's held-out embedding, coloured by behaviour.

    Multi-session fits show every session in one panel (consistent sessions
    overlap). Uses matplotlib's object API (no global pyplot state), imported
    here so the rest of the demo works without it.

    Returns:
        The path of the written file.

    Raises:
        ModuleNotFoundError: if matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = [row for row in rows if row.embeddings]
    columns = min(4, max(1, len(drawn)))
    lines = max(1, math.ceil(len(drawn) / columns))
    figure = Figure(figsize=(3.6 * columns + 1, 3.6 * lines))
    FigureCanvasAgg(figure)
    low = min((float(np.min(c)) for row in drawn for c in row.colours), default=0.0)
    high = max((float(np.max(c)) for row in drawn for c in row.colours), default=1.0)
    scatter = None
    for i, row in enumerate(drawn):
        three_d = row.embeddings[0].shape[1] >= 3
        axes = figure.add_subplot(lines, columns, i + 1, projection="3d" if three_d else None)
        for embedding, colour in zip(row.embeddings, row.colours):
            coords = [embedding[:, j] for j in range(min(3, embedding.shape[1]))]
            if len(coords) == 1:
                coords.append(np.zeros_like(coords[0]))
            scatter = axes.scatter(*coords, c=colour, cmap="viridis", vmin=low, vmax=high, s=2,
                                   linewidths=0)
        axes.set_title(row.name, fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        if three_d:
            axes.set_zticks([])
    if scatter is not None:
        figure.colorbar(scatter, ax=figure.axes, shrink=0.6, label=behaviour)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(os.fspath(out_dir), "embeddings.png")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


# --------------------------------------------------------------------------- loader benchmark


@dataclasses.dataclass
class BenchmarkRow:
    """Throughput of one loader (see :func:`benchmark_loaders`).

    Attributes:
        name: the loader and its options.
        setup_seconds: construction time (e.g. building the search index).
        index_ms: mean time to draw one batch's indices.
        gather_ms: mean time to gather one batch's windows.
        note: why the loader could not run, if so.
    """

    name: str
    setup_seconds: float = float("nan")
    index_ms: float = float("nan")
    gather_ms: float = float("nan")
    note: str = ""

    @property
    def batches_per_second(self) -> float:
        """Batches per second, drawing and gathering together."""
        total = self.index_ms + self.gather_ms
        return 1000.0 / total if total > 0 else float("inf")


_BENCHMARKS: Tuple[Tuple[str, str, Dict[str, Any], str], ...] = (
    # (row, loader class, options, data: "single", "sessions" or "unified")
    ("ContinuousDataLoader (time)", "ContinuousDataLoader", {"conditional": "time"}, "single"),
    ("ContinuousDataLoader (time_delta)", "ContinuousDataLoader", {"conditional": "time_delta"},
     "single"),
    ("ContinuousDataLoader (delta_normal)", "ContinuousDataLoader",
     {"conditional": "delta_normal", "delta": 0.05}, "single"),
    ("DiscreteDataLoader", "DiscreteDataLoader", {}, "single"),
    ("MixedDataLoader", "MixedDataLoader", {}, "single"),
    ("HybridDataLoader", "HybridDataLoader", {}, "single"),
    ("ContinuousMultiSessionDataLoader", "ContinuousMultiSessionDataLoader", {}, "sessions"),
    ("DiscreteMultiSessionDataLoader", "DiscreteMultiSessionDataLoader", {}, "sessions"),
    ("MixedMultiSessionDataLoader", "MixedMultiSessionDataLoader", {}, "sessions"),
    ("UnifiedLoader", "UnifiedLoader", {}, "unified"),
)


def benchmark_loaders(
    num_samples: int = 100_000,
    num_neurons: int = 120,
    batch_size: int = 512,
    steps: int = 50,
    seed: int = 0,
    device: str = "cpu",
    threads: Optional[int] = 1,
) -> List[BenchmarkRow]:
    """Time every loader on synthetic linear-track data.

    Single-session loaders draw from one session of ``num_samples`` time steps;
    multi-session loaders from three sessions of ``num_samples // 3`` steps
    each (as a :class:`~cebra_data.DatasetCollection`, and as a
    :class:`~cebra_data.UnifiedDataset` for the :class:`~cebra_data.UnifiedLoader`). The window is ten time steps (``Offset(5, 5)``). One warm-up batch
    is drawn before ``steps`` timed batches; drawing the indices
    (``get_indices``) and gathering the windows (``load_batch``) are timed
    separately.

    Args:
        num_samples: time steps of the single session (the three multi-session
            sessions get a third each).
        num_neurons: neurons per session.
        batch_size: references per batch.
        steps: timed batches per loader.
        seed: seed of the data and the loaders.
        device: torch device.
        threads: torch CPU threads while timing (restored afterwards).

    Returns:
        One :class:`BenchmarkRow` per loader; a loader missing from this
        installation gets a note.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    steps = check_positive_int(steps, "steps")
    offset = Offset(5, 5)
    if num_samples < 3 * len(offset) + 3:
        raise ValueError(
            f"num_samples should be at least {3 * len(offset) + 3} (three sessions of more than one "
            f"window for the multi-session loaders), but got num_samples={num_samples}."
        )
    single = make_linear_track(DemoConfig(seed=seed, num_neurons=(num_neurons,),
                                          num_samples=(num_samples,)))[0].dataset(offset, device)
    sessions = make_linear_track(DemoConfig(seed=seed, num_neurons=(num_neurons,) * 3,
                                            num_samples=(num_samples // 3,) * 3))
    data = {
        "single": single,
        "sessions": DatasetCollection([r.dataset(offset, device) for r in sessions]),
        "unified": UnifiedDataset([r.dataset(offset, device) for r in sessions]),
    }
    with _torch_threads(threads):
        return [_benchmark_one(name, loader_name, options, data[kind], batch_size, steps, seed)
                for name, loader_name, options, kind in _BENCHMARKS]


def _benchmark_one(name: str, loader_name: str, options: Dict[str, Any], dataset: Any,
                   batch_size: int, steps: int, seed: int) -> BenchmarkRow:
    loader_cls = getattr(cebra_data, loader_name, None)
    if loader_cls is None:
        return BenchmarkRow(name, note=f"unavailable: cebra_data.{loader_name} is not installed")
    tick = time.perf_counter()
    loader = loader_cls(dataset, num_steps=steps, batch_size=batch_size, seed=seed, **options)
    setup = time.perf_counter() - tick
    dataset.load_batch(loader.get_indices(batch_size))  # warm-up
    index_seconds = gather_seconds = 0.0
    for _ in range(steps):
        tick = time.perf_counter()
        index = loader.get_indices(batch_size)
        middle = time.perf_counter()
        dataset.load_batch(index)
        index_seconds += middle - tick
        gather_seconds += time.perf_counter() - middle
    return BenchmarkRow(name, setup, 1000 * index_seconds / steps, 1000 * gather_seconds / steps)


def format_benchmark(rows: Sequence[BenchmarkRow]) -> str:
    """The benchmark as a plain-text table."""
    header = ["loader", "setup s", "indices ms", "gather ms", "batches/s"]
    cells = [[r.name, f"{r.setup_seconds:.3f}", f"{r.index_ms:.2f}", f"{r.gather_ms:.2f}",
              f"{r.batches_per_second:.0f}"] for r in rows if not r.note]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
    widths[0] = max([widths[0]] + [len(r.name) for r in rows])

    def render(line: Sequence[str]) -> str:
        rest = [value.rjust(width) for value, width in zip(line[1:], widths[1:])]
        return "  ".join([line[0].ljust(widths[0]), *rest])

    lines = [render(header), "-" * len(render(header))]
    numbers = iter(cells)
    for row in rows:
        lines.append(f"{row.name.ljust(widths[0])}  {row.note}" if row.note else render(next(numbers)))
    return "\n".join(lines)
