"""Interop with the real CEBRA 0.6.1: its model and solvers train on our loaders.

CEBRA's ``offset10-model`` is trained with CEBRA's own solvers
(:class:`cebra.solver.SingleSessionSolver`, :class:`cebra.solver.MultiSessionSolver`)
and CEBRA's InfoNCE criterion on batches from ``cebra_data`` loaders, exactly
as ``cebra.CEBRA.fit`` wires them up: the dataset is configured for the model
(``dataset.configure_for(model)``), an Adam optimiser covers the model's and the
criterion's parameters, and ``solver.fit(loader)`` runs ``num_steps`` batches.

The check that the training did something: the embedding of the whole
recording (``solver.transform``) linearly decodes the behaviour. A closed-form
least-squares fit (with intercept) on the first half of the time steps is
scored, as R², on the second half. The same training on time-shuffled
behaviour is the control: its embedding gets no behaviour signal from the
contrastive objective, so it must decode clearly worse (see ``MIN_R2`` and
``MIN_ERROR_REDUCTION`` for the thresholds). The single-session
check also runs on CEBRA's own ``TensorDataset`` and ``ContinuousDataLoader``,
which shows that the check passes for the reference implementation and that
our loaders reach the same level.

Data: seeded synthetic place cells, Poisson counts of neurons with Gaussian
tuning curves over a 1-D position that follows a reflected random walk.

Randomness: the data, the shuffles and our loaders use seeds. CEBRA's models
initialise their weights from torch's global random generator, and CEBRA's
loaders sample from it too; there is no generator argument to pass. Those
trainings therefore run inside ``torch.random.fork_rng()`` and seed the global
generator inside the fork only: the result does not depend on the state the
other tests leave behind, and the global state is restored afterwards.

Speed: each training uses one thread (``torch.set_num_threads(1)``, restored
afterwards; on a busy 2-core machine more threads only contend) and takes a
few seconds on an idle 2-core CPU.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, List, Tuple

import numpy as np
import pytest
import torch

cebra = pytest.importorskip("cebra")
import cebra.data  # noqa: E402  (after the importorskip, on purpose)
import cebra.models  # noqa: E402
import cebra.solver  # noqa: E402

import cebra_data  # noqa: E402

pytestmark = pytest.mark.slow

#: Model size, as in ``cebra.models.init("offset10-model", num_neurons, NUM_UNITS, NUM_OUTPUT)``.
NUM_UNITS = 16
NUM_OUTPUT = 8
#: Training length and batch size (per session for the multi-session loader).
NUM_STEPS = 200
BATCH_SIZE = 256
MULTI_BATCH_SIZE = 128
LEARNING_RATE = 3e-3
TIME_OFFSET = 10
#: The decoding thresholds. The trained embedding must reach R² > MIN_R2, and
#: its unexplained variance (1 - R²) must be at most 1 / MIN_ERROR_REDUCTION of
#: the control's. Place-cell activity is itself dominated by position, so even
#: the control's embedding keeps some of it; the comparison is therefore on the
#: error. Measured with these seeds: trained R² 0.96-0.99 (error 0.015-0.04),
#: controls R² 0.34-0.72 (error 0.28-0.66), i.e. the error shrinks 9- to 37-fold.
MIN_R2 = 0.9
MIN_ERROR_REDUCTION = 3.0


# -- data and scoring -----------------------------------------------------------------


def place_cell_session(seed: int, num_samples: int, num_neurons: int) -> Tuple[np.ndarray, np.ndarray]:
    """Poisson place cells on a 1-D track, run in laps (about 40 in 3000 steps).

    Returns:
        ``neural`` ``(num_samples, num_neurons)`` float32 spike counts and
        ``position`` ``(num_samples, 1)`` float32 in ``[0, 1]``.
    """
    rng = np.random.default_rng(seed)
    # laps back and forth: the distance run, at a noisy speed, folded onto [0, 1]
    distance = np.cumsum(np.abs(rng.normal(0.012, 0.006, size=num_samples)))
    folded = np.mod(distance, 2.0)
    position = np.where(folded > 1.0, 2.0 - folded, folded)
    centres = rng.uniform(0.0, 1.0, size=num_neurons)
    rates = 0.2 + 4.0 * np.exp(-((position[:, None] - centres[None, :]) ** 2) / (2 * 0.08**2))
    neural = rng.poisson(rates).astype(np.float32)
    return neural, position[:, None].astype(np.float32)


def time_shuffled(behaviour: np.ndarray, seed: int) -> np.ndarray:
    """The behaviour with its time steps permuted: the control's labels."""
    return behaviour[np.random.default_rng(seed).permutation(len(behaviour))]


def decoding_r2(embedding: np.ndarray, behaviour: np.ndarray) -> float:
    """R² of a linear least-squares fit, fitted on the first half of time, scored on the second."""
    assert len(embedding) == len(behaviour), (embedding.shape, behaviour.shape)
    half = len(behaviour) // 2
    design = np.hstack([embedding, np.ones((len(embedding), 1))]).astype(np.float64)
    target = behaviour.astype(np.float64)
    weights, *_ = np.linalg.lstsq(design[:half], target[:half], rcond=None)
    residual = target[half:] - design[half:] @ weights
    total = target[half:] - target[half:].mean(axis=0)
    return float(1.0 - (residual**2).sum() / (total**2).sum())


def test_decoding_r2_scores_a_linear_code_high_and_noise_low():
    rng = np.random.default_rng(0)
    behaviour = rng.uniform(size=(1000, 1))
    linear = np.hstack([3.0 * behaviour - 1.0, rng.normal(size=(1000, 2))])
    assert decoding_r2(linear, behaviour) > 0.999
    assert decoding_r2(rng.normal(size=(1000, 3)), behaviour) < 0.05


@contextlib.contextmanager
def cebra_training_context(seed: int) -> Iterator[None]:
    """One thread and a forked, seeded global torch RNG, both restored on exit.

    CEBRA's models (and CEBRA's own loaders) draw from torch's global
    generator and take no generator argument; seeding it inside the fork
    is the only way to make them reproducible without touching the state
    other tests see.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # global RNG, inside the fork only (see the docstring)
            yield
    finally:
        torch.set_num_threads(threads)


def test_training_context_restores_the_global_rng_and_thread_count():
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    with cebra_training_context(seed=0):
        assert torch.get_num_threads() == 1
        inside = torch.rand(3)
    with cebra_training_context(seed=0):
        assert torch.equal(torch.rand(3), inside)  # seeded: the same draws every time
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)


def make_criterion_and_optimizer(model: torch.nn.Module) -> Tuple[torch.nn.Module, torch.optim.Optimizer]:
    """CEBRA's cosine InfoNCE with learnable temperature and Adam over model and criterion."""
    criterion = cebra.models.criterions.LearnableCosineInfoNCE(temperature=1.0, min_temperature=0.1)
    optimizer = torch.optim.Adam(
        list(model.parameters()) + list(criterion.parameters()), lr=LEARNING_RATE
    )
    return criterion, optimizer


# -- single session -------------------------------------------------------------------


def our_single_session_loader(model, neural: np.ndarray, behaviour: np.ndarray, seed: int):
    dataset = cebra_data.TensorDataset(neural, continuous=behaviour)
    dataset.configure_for(model)
    return cebra_data.ContinuousDataLoader(
        dataset, num_steps=NUM_STEPS, batch_size=BATCH_SIZE, conditional="time_delta",
        time_offset=TIME_OFFSET, seed=seed,
    )


def cebras_single_session_loader(model, neural: np.ndarray, behaviour: np.ndarray, seed: int):
    dataset = cebra.data.TensorDataset(torch.from_numpy(neural), continuous=torch.from_numpy(behaviour))
    dataset.configure_for(model)
    # CEBRA's loader has no seed: it samples from the global RNG seeded in cebra_training_context.
    return cebra.data.ContinuousDataLoader(
        dataset, num_steps=NUM_STEPS, batch_size=BATCH_SIZE, conditional="time_delta",
        time_offset=TIME_OFFSET,
    )


def train_single_session(
    make_loader: Callable, neural: np.ndarray, behaviour: np.ndarray, seed: int
) -> Tuple[np.ndarray, "cebra.solver.SingleSessionSolver"]:
    """Train offset10-model with CEBRA's single-session solver; the embedding of ``neural``."""
    with cebra_training_context(seed):
        model = cebra.models.init("offset10-model", neural.shape[1], NUM_UNITS, NUM_OUTPUT)
        loader = make_loader(model, neural, behaviour, seed)
        criterion, optimizer = make_criterion_and_optimizer(model)
        solver = cebra.solver.SingleSessionSolver(
            model=model, criterion=criterion, optimizer=optimizer, tqdm_on=False
        )
        solver.fit(loader)
        embedding = solver.transform(torch.from_numpy(neural)).numpy()
    return embedding, solver


def test_configure_for_accepts_cebras_model():
    neural, position = place_cell_session(seed=5, num_samples=200, num_neurons=12)
    dataset = cebra_data.TensorDataset(neural, continuous=position)
    with cebra_training_context(seed=0):
        model = cebra.models.init("offset10-model", 12, NUM_UNITS, NUM_OUTPUT)
    assert isinstance(model.get_offset(), cebra.data.Offset)
    dataset.configure_for(model)
    assert (dataset.offset.left, dataset.offset.right) == (5, 5)
    loader = cebra_data.ContinuousDataLoader(dataset, num_steps=1, batch_size=7, seed=0)
    batch = next(iter(loader))
    assert tuple(batch.reference.shape) == (7, 12, 10)
    # the window length is what the model consumes: one output per window
    assert tuple(model(batch.reference).shape) == (7, NUM_OUTPUT)


@pytest.mark.parametrize(
    "make_loader",
    [our_single_session_loader, cebras_single_session_loader],
    ids=["cebra_data-loader", "cebras-own-loader"],
)
def test_single_session_solver_embedding_decodes_behaviour(make_loader):
    neural, position = place_cell_session(seed=0, num_samples=3000, num_neurons=40)

    embedding, solver = train_single_session(make_loader, neural, position, seed=1)
    control, _ = train_single_session(make_loader, neural, time_shuffled(position, seed=2), seed=1)

    assert embedding.shape == (3000, NUM_OUTPUT)
    assert len(solver.log["total"]) == NUM_STEPS
    assert solver.n_features == 40
    r2, r2_control = decoding_r2(embedding, position), decoding_r2(control, position)
    assert r2 > MIN_R2, (r2, r2_control)
    assert (1.0 - r2) * MIN_ERROR_REDUCTION < 1.0 - r2_control, (r2, r2_control)


# -- multi session --------------------------------------------------------------------


SESSION_NEURONS = (30, 40, 50)
SESSION_SAMPLES = (2000, 2400, 2800)


def train_multi_session(
    sessions: List[Tuple[np.ndarray, np.ndarray]], seed: int
) -> Tuple[List[np.ndarray], "cebra.solver.MultiSessionSolver"]:
    """One offset10-model per session, CEBRA's multi-session solver on our collection loader."""
    with cebra_training_context(seed):
        model = torch.nn.ModuleList(
            cebra.models.init("offset10-model", neural.shape[1], NUM_UNITS, NUM_OUTPUT)
            for neural, _ in sessions
        )
        collection = cebra_data.DatasetCollection(
            [cebra_data.TensorDataset(neural, continuous=behaviour) for neural, behaviour in sessions]
        )
        collection.configure_for(model)
        loader = cebra_data.ContinuousMultiSessionDataLoader(
            collection, num_steps=NUM_STEPS, batch_size=MULTI_BATCH_SIZE,
            time_offset=TIME_OFFSET, conditional="time_delta", seed=seed,
        )
        criterion, optimizer = make_criterion_and_optimizer(model)
        solver = cebra.solver.MultiSessionSolver(
            model=model, criterion=criterion, optimizer=optimizer, tqdm_on=False
        )
        solver.fit(loader)
        embeddings = [
            solver.transform(torch.from_numpy(neural), session_id=session_id).numpy()
            for session_id, (neural, _) in enumerate(sessions)
        ]
    return embeddings, solver


def test_multi_session_solver_embeddings_decode_the_shared_behaviour():
    sessions = [
        place_cell_session(seed=10 + i, num_samples=n, num_neurons=d)
        for i, (n, d) in enumerate(zip(SESSION_SAMPLES, SESSION_NEURONS))
    ]
    shuffled = [(neural, time_shuffled(position, seed=20 + i)) for i, (neural, position) in enumerate(sessions)]

    embeddings, solver = train_multi_session(sessions, seed=3)
    controls, _ = train_multi_session(shuffled, seed=3)

    assert solver.num_sessions == len(sessions)
    assert list(solver.n_features) == list(SESSION_NEURONS)
    assert len(solver.log["total"]) == NUM_STEPS
    for session_id, ((_, position), embedding, control) in enumerate(zip(sessions, embeddings, controls)):
        assert embedding.shape == (len(position), NUM_OUTPUT)
        r2, r2_control = decoding_r2(embedding, position), decoding_r2(control, position)
        assert r2 > MIN_R2, (session_id, r2, r2_control)
        assert (1.0 - r2) * MIN_ERROR_REDUCTION < 1.0 - r2_control, (session_id, r2, r2_control)
