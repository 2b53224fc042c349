"""The demo's training and evaluation: the loop, the metrics and the whole run.

* :func:`fit` trains encoders with InfoNCE on the batches of any loader,
  timing the data layer apart from the model.
* :func:`knn_r2` and :func:`consistency_r2` score an embedding: position
  decoding on held-out time steps, and agreement between sessions.
* :func:`default_plan` lists the fits for a set of recordings,
  :func:`run_demo` runs them (several at a time, in threads) and
  :func:`format_table` prints the result.

Example:
    >>> import torch
    >>> from cebra_data import ContinuousDataLoader
    >>> from cebra_data.demo.data import DemoConfig, make_linear_track
    >>> from cebra_data.demo.model import ConvEncoder
    >>> from cebra_data.demo.training import fit
    >>> rat = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))[0]
    >>> model = ConvEncoder(60, generator=torch.Generator().manual_seed(0))
    >>> loader = ContinuousDataLoader(rat.dataset(model.get_offset()), num_steps=5,
    ...                               batch_size=32, conditional="time", seed=0)
    >>> result = fit(model, loader)
    >>> len(result.losses), result.batches_per_second > 0
    (5, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple, Union

import numpy as np
import torch
from torch import nn

import cebra_data
from cebra_data import (
    Batch,
    BatchIndex,
    DatasetCollection,
    Offset,
    TensorDataset,
    split_dataset,
)
from cebra_data.demo.data import DemoConfig, Recording, make_linear_track
from cebra_data.demo.figure import plot_embeddings
from cebra_data.demo.model import ConvEncoder, embed, infonce
from cebra_data.demo.progress import Progress
from cebra_data.distributions.multisession import mix

__all__ = [
    "FitResult",
    "fit",
    "embed_batch",
    "multi_session_embeddings",
    "knn_r2",
    "consistency_r2",
    "FitSpec",
    "default_plan",
    "Row",
    "DemoResult",
    "run_demo",
    "format_table",
    "torch_threads",
]


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class FitResult:
    """What one training run measured.

    Attributes:
        losses: the loss of every step.
        data_seconds: time spent drawing and gathering batches (the data layer),
            on the clock :func:`fit` was given.
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


def embed_batch(model: nn.Module, batch: Batch) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Embed a batch's references, positives and negatives in one forward pass.

    One pass over all windows computes the same embeddings as three (the
    encoder treats every window on its own) with a third of the per-call
    overhead and larger, faster matrix products.

    Args:
        model: the encoder (any callable from windows to embeddings).
        batch: a :class:`~cebra_data.Batch`.

    Returns:
        ``(reference, positive, negative)`` embeddings, one row per window.

    Example:
        >>> import torch
        >>> from cebra_data import Batch
        >>> from cebra_data.demo.training import embed_batch
        >>> windows = torch.arange(24.0).reshape(6, 2, 2)
        >>> batch = Batch(windows[:2], windows[2:4], windows[4:])
        >>> [tuple(part.shape) for part in embed_batch(lambda w: w.sum(dim=2), batch)]
        [(2, 2), (2, 2), (2, 2)]
    """
    parts = (batch.reference, batch.positive, batch.negative)
    embedding = model(torch.cat(parts))
    reference, positive, negative = embedding.split([len(part) for part in parts])
    return reference, positive, negative


def multi_session_embeddings(
    models: Sequence[nn.Module], batches: Sequence[Batch]
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Embed one multi-session step and line every positive up with its reference.

    Session ``s``'s encoder embeds session ``s``'s batch. A multi-session
    loader draws reference ``k``'s positive in another session; the batch's
    ``index_reversed`` (applied with
    :func:`cebra_data.distributions.multisession.mix`) moves it back to row
    ``k``, as CEBRA's multi-session solver does.

    Args:
        models: one encoder per session (any callables from windows to embeddings).
        batches: one :class:`~cebra_data.Batch` per session, as a multi-session
            loader yields them.

    Returns:
        ``(reference, positive, negative)``, each ``(sessions * batch, dim)``
        with the sessions one after the other; row ``k`` of ``positive`` is
        the positive of row ``k`` of ``reference``.
    """
    parts = [embed_batch(m, b) for m, b in zip(models, batches)]
    reference, positive, negative = (torch.stack(p) for p in zip(*parts))
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
    progress: Union[None, TextIO, Progress] = None,
    label: str = "fit",
    clock: Callable[[], float] = time.perf_counter,
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
        progress: stream for the progress bar (``None`` for silence), or a
            :class:`~cebra_data.demo.progress.Progress` shared by fits that
            run at the same time.
        label: the progress bar's label.
        clock: the clock that times the data layer, e.g. ``time.thread_time``
            to count only this thread's CPU time when other fits run beside
            it (the total time is always wall time).

    Returns:
        The per-step losses and the time spent in the data layer.
    """
    models = list(model) if isinstance(model, (list, tuple, nn.ModuleList)) else [model]
    parameters = [p for m in models for p in m.parameters()]
    # the fused kernel updates every parameter in one call (CPU and CUDA have it)
    fused = all(p.device.type in ("cpu", "cuda") for p in parameters)
    optimizer = torch.optim.Adam(parameters, lr=learning_rate, fused=fused or None)
    total = len(loader) if hasattr(loader, "__len__") else 0
    board = progress if isinstance(progress, Progress) else Progress(progress)
    bar = board.start(label, max(total, 1))
    for m in models:
        m.train()
    losses: List[float] = []
    data_seconds = 0.0
    start = time.perf_counter()
    iterator = iter(loader)
    while True:
        tick = clock()
        try:
            batch = next(iterator)
        except StopIteration:
            break
        if isinstance(batch, BatchIndex):
            batch = loader.dataset.load_batch(batch)
        data_seconds += clock() - tick
        if isinstance(batch, Batch):
            reference, positive, negative = embed_batch(models[0], batch)
        else:
            reference, positive, negative = multi_session_embeddings(models, batch)
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
        board.update(bar, len(losses), losses[-1])
    seconds = time.perf_counter() - start
    board.finish(bar, len(losses), losses[-1] if losses else float("nan"), seconds)
    return FitResult(losses, data_seconds, seconds)


# --------------------------------------------------------------------------- metrics


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
    earlier training point. Rows whose label holds a NaN (a missing label, as in
    the datasets) take part in neither the decoder nor the score; with no labelled
    row left on either side the score is NaN.

    Example:
        >>> import numpy as np
        >>> from cebra_data.demo import knn_r2
        >>> angle = np.linspace(0, 3, 200)
        >>> emb = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        >>> round(knn_r2(emb[::2], angle[::2], emb[1::2], angle[1::2], neighbours=2), 2)
        1.0
    """
    train_labels = np.asarray(train_labels, dtype=np.float64).reshape(len(train_embedding), -1)
    test_labels = np.asarray(test_labels, dtype=np.float64).reshape(len(test_embedding), -1)
    train_rows = ~np.isnan(train_labels).any(axis=1)
    test_rows = ~np.isnan(test_labels).any(axis=1)
    if not train_rows.any() or not test_rows.any():
        return float("nan")
    train = torch.nn.functional.normalize(
        torch.as_tensor(np.asarray(train_embedding)[train_rows], dtype=torch.float64), dim=1)
    test = torch.nn.functional.normalize(
        torch.as_tensor(np.asarray(test_embedding)[test_rows], dtype=torch.float64), dim=1)
    labels = torch.as_tensor(train_labels[train_rows])
    test_labels = test_labels[test_rows]
    k = min(neighbours, len(train))
    predictions = []
    for chunk in test.split(2048):
        nearest = (chunk @ train.T).topk(k, dim=1).indices
        predictions.append(labels[nearest].mean(dim=1))
    return _r2(test_labels, torch.cat(predictions).numpy())


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
        loader: the cebra_data loader class.
        options: keyword arguments of the loader besides dataset, steps,
            batch size and seed.
        shuffle: train on labels permuted in time (a control); decoding
            still uses the true labels.
        multi_session: fit one encoder per session on a DatasetCollection.
        decode: the labels the decoding column scores: ``"continuous"`` (the
            behaviour; the discrete label where there is none) or
            ``"discrete"`` (the label a discrete fit was trained on).
    """

    name: str
    loader: type
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    shuffle: bool = False
    multi_session: bool = False
    decode: str = "continuous"


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
    plan = [FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"})]
    if has_continuous:
        plan += [
            FitSpec(f"time_delta ({behaviour})", cebra_data.ContinuousDataLoader,
                    {"conditional": "time_delta"}),
            FitSpec(f"time_delta (shuffled {behaviour})", cebra_data.ContinuousDataLoader,
                    {"conditional": "time_delta"}, shuffle=True),
        ]
    if has_discrete:
        # scored on its own label: the direction says nothing of the position, so a
        # position score of this fit would be noise (it moved by 0.2 between CPUs)
        plan.append(FitSpec(f"discrete ({label})", cebra_data.DiscreteDataLoader, decode="discrete"))
    if has_continuous and has_discrete:
        plan.append(FitSpec(f"mixed ({behaviour} + {label})", cebra_data.MixedDataLoader))
    if has_continuous and len(recordings) > 1:
        plan += [
            FitSpec(f"multi-session ({behaviour})", cebra_data.ContinuousMultiSessionDataLoader,
                    {"conditional": "time_delta"}, multi_session=True),
            FitSpec(f"multi-session (shuffled {behaviour})", cebra_data.ContinuousMultiSessionDataLoader,
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


def _target(dataset: Any, kind: str = "continuous") -> np.ndarray:
    """The labels decoding is scored on: the continuous behaviour (else the discrete label),
    or with ``kind="discrete"`` the discrete label."""
    if kind == "continuous" and dataset.continuous_index is not None:
        return dataset.continuous_index.cpu().numpy()
    return dataset.discrete_index.cpu().numpy().astype(np.float64)[:, None]


def _split(recordings: Sequence[Recording], offset: Offset,
           config: DemoConfig) -> List[Tuple[TensorDataset, TensorDataset]]:
    """Train and held-out test part of every recording, cut by time with a window-sized gap."""
    fractions = (1 - config.test_fraction, config.test_fraction)
    parts = []
    for recording in recordings:
        try:
            parts.append(split_dataset(recording.dataset(offset, config.device), fractions,
                                       names=("train", "test")))
        except ValueError as err:  # too short for the model's window or the split: say which
            err.args = (f"{recording.name} ({len(recording.neural)} time steps) cannot be fitted "
                        f"by the demo: {err}",)
            raise
    return [(split.train, split.test) for split in parts]


def _run_one(spec: FitSpec, splits: Sequence[Tuple[Any, Any]], config: DemoConfig,
             progress: Progress, clock: Callable[[], float]) -> Row:
    """One fit and its scores; it only reads ``splits``, so fits may run in parallel threads."""
    loader_cls = spec.loader
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
    if spec.loader is not cebra_data.DiscreteDataLoader:
        options.setdefault("time_offset", config.time_offset)
    loader = loader_cls(dataset, num_steps=config.steps, batch_size=config.batch_size,
                        seed=int(seeds[2]), **options)
    result = fit(models if spec.multi_session else models[0], loader,
                 temperature=config.temperature, learning_rate=config.learning_rate,
                 progress=progress, label=spec.name, clock=clock)
    # evaluation uses the true labels and the held-out part of every session
    scores, embeddings, targets = [], [], []
    for (train, test), model in zip(sessions, models):
        test_embedding = embed(model, test)
        scores.append(knn_r2(embed(model, train), _target(train, spec.decode), test_embedding,
                             _target(test, spec.decode), config.neighbours))
        embeddings.append(test_embedding)
        targets.append(_target(test))
    consistency = consistency_r2(embeddings, targets, config.bins) if spec.multi_session else None
    return Row(spec.name, result.batches_per_second, result.final_loss, float(np.mean(scores)),
               consistency, result.total_seconds, embeddings=embeddings,
               colours=[t[:, 0] for t in targets])


def _jobs(config: DemoConfig, num_fits: int) -> int:
    """How many fits run at the same time: ``config.jobs``, else one per free core."""
    if config.jobs is not None:
        return min(config.jobs, max(num_fits, 1))
    if config.threads is None:
        return 1  # torch's own threads already use the cores
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min((cores or 1) // config.threads, num_fits))


def _run_all(plan: Sequence[FitSpec], splits: Sequence[Tuple[Any, Any]], config: DemoConfig,
             progress: Progress) -> List[Row]:
    """Every fit of the plan, ``_jobs`` at a time in threads; rows in plan order.

    Each fit draws from its own seeded generators and trains its own models, so
    the rows do not depend on how many fits run at once. The multi-session fits
    (the longest) start first, which balances the threads. With one torch
    thread per fit, the data layer is timed by the thread's CPU clock, so a fit
    running beside another one is not charged for it.
    """
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    order = sorted(range(len(plan)), key=lambda i: not plan[i].multi_session)
    jobs = _jobs(config, len(plan))
    if jobs == 1:
        done = {i: _run_one(plan[i], splits, config, progress, clock) for i in order}
        return [done[i] for i in range(len(plan))]
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="cebra-data-demo")
    try:
        futures = {i: pool.submit(_run_one, plan[i], splits, config, progress, clock)
                   for i in order}
        return [futures[i].result() for i in range(len(plan))]
    finally:
        # on an error (or Ctrl-C) the fits not yet started are dropped; running ones end
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
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

    ``config.jobs`` fits run at the same time, each in its own thread with
    ``config.threads`` torch threads; the fits only read the shared datasets
    and each draws from its own seeded generators, so the rows are the same
    for any number of jobs.

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
    if out_dir is not None:
        _prepare_out_dir(out_dir)  # before the fits: a bad folder fails in a second, not a minute
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
    with torch_threads(config.threads):
        rows = _run_all(plan, splits, config, Progress(progress))
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


def _prepare_out_dir(out_dir: Union[str, os.PathLike]) -> None:
    """Create the figure's folder (if needed) and check that a file can be written there.

    Raises:
        OSError: of the type the system gave (``FileExistsError`` for a file in the way,
            ``PermissionError``, ...), naming the folder and the reason.
    """
    folder = os.fspath(out_dir)
    try:
        os.makedirs(folder, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".cebra_data_demo_", delete=True)
        probe.close()
    except OSError as err:
        reason = err.strerror or str(err)
        if isinstance(err, FileExistsError) or os.path.isfile(folder):
            reason = "a file of that name is in the way"
        raise type(err)(
            err.errno, f"cannot write the figure into the folder '{folder}' ({reason}); pass "
            "another folder (--out DIR)") from err


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

    Args:
        result: what :func:`run_demo` returned.

    Returns:
        The table, one line per row after a header and a rule, without a
        trailing newline.
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
