"""Speed of multi-session sampling, as ratios measured in one run.

Four sessions of 10^5 time steps each (``--quick``: 10^4) with a 3-D behaviour
index (a random walk), 80 to 140 neurons, offset (5, 5), batch size 512 per
session:

1. ``get_indices`` of :class:`~cebra_data.ContinuousMultiSessionDataLoader`
   (``time_delta``: positives searched across sessions) against the same draw
   answered the brute-force way CEBRA does it -- per session a full
   ``(N, batch)`` distance matrix ``|x|^2 + |q|^2 - 2 x.q`` in float32, then
   ``argmin`` -- reported as the ratio brute force / ours, with the fraction
   of positives on which both agree (the brute force rounds in float32, ours
   is exact, so near-ties may differ).
2. The same for :class:`~cebra_data.UnifiedLoader` (behaviour-matched
   references in every session, then positives within each session).
3. ``get_indices`` of the time-only, discrete and mixed loaders, for scale.
4. Full batch -- ``get_indices`` + ``dataset.load_batch`` -- against the
   floor: drawing ``3 x sessions x batch`` random integers and gathering the
   same number of windows; reported as the ratio full batch / floor.

Run: ``python benchmarks/bench_multisession.py [--quick] [--repeats R] [--threads T]``.
Times are medians after one warm-up call. Each pair compared in a ratio is
measured in alternation (per round: the slower variant once, the faster one
five times; ``R`` rounds, at most 3 for the brute force, which takes seconds
per call), so both see the same load on a shared machine. Single
process, ``torch.set_num_threads`` left at its default unless ``--threads``
is given (on a busy machine, one thread avoids intra-op spin-waits that slow
every small tensor operation).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable, List, Tuple

import torch

from cebra_data import (
    BatchIndex,
    ContinuousMultiSessionDataLoader,
    DatasetCollection,
    DiscreteMultiSessionDataLoader,
    MixedMultiSessionDataLoader,
    TensorDataset,
    UnifiedDataset,
    UnifiedLoader,
)

BATCH = 512
SESSIONS = 4
NEURONS = (80, 100, 120, 140)
OFFSET = (5, 5)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_times(fast: Callable[[], object], slow: Callable[[], object], rounds: int) -> Tuple[float, float]:
    """Medians of ``fast`` and ``slow``, measured in alternation so both see the same machine load.

    Each round times ``slow`` once and ``fast`` five times (it is cheap, and the
    median of five damps a single preempted call).
    """
    fast(), slow()
    fast_samples, slow_samples = [], []
    for _ in range(rounds):
        for _ in range(5):
            start = time.perf_counter()
            fast()
            fast_samples.append(time.perf_counter() - start)
        start = time.perf_counter()
        slow()
        slow_samples.append(time.perf_counter() - start)
    return statistics.median(fast_samples), statistics.median(slow_samples)


def make_sessions(n: int, seed: int = 0) -> List[TensorDataset]:
    g = torch.Generator().manual_seed(seed)
    sessions = []
    for neurons in NEURONS[:SESSIONS]:
        neural = torch.randn(n, neurons, generator=g)
        behaviour = (torch.randn(n, 3, generator=g) * 0.05).cumsum(0)
        discrete = torch.randint(0, 4, (n,), generator=g)
        sessions.append(TensorDataset(neural, continuous=behaviour, discrete=discrete, offset=OFFSET))
    return sessions


class BruteForceSearch:
    """CEBRA's search: a full ``(N, batch)`` float32 distance matrix per query batch, then argmin."""

    def __init__(self, values: torch.Tensor, valid: torch.Tensor) -> None:
        self.rows = valid.nonzero().flatten()
        self.points = values[self.rows].float()
        self.sq_norm = self.points.square().sum(1, keepdim=True)

    def search(self, query: torch.Tensor) -> torch.Tensor:
        query = query.float()
        distance = self.sq_norm + query.square().sum(1)[None, :] - 2.0 * (self.points @ query.T)
        return self.rows[distance.argmin(0)]


def brute_multisession(sampler, searches, num_samples: int) -> Tuple[BatchIndex, torch.Tensor]:
    reference = sampler.sample_prior(num_samples)
    negative = sampler.sample_prior(num_samples)
    query, index, index_reversed = sampler.assign_queries(reference)
    positive = torch.stack([s.search(q) for s, q in zip(searches, query)])
    return BatchIndex(reference, positive, negative, index, index_reversed), query


def brute_unified(sampler, searches, num_samples: int) -> BatchIndex:
    def prior() -> torch.Tensor:
        session_id = int(sampler.randint(0, sampler.num_sessions, (1,)))
        ref = torch.from_numpy(sampler.sample_all_uniform_prior(num_samples)[session_id])
        query = sampler.continuous[session_id][ref]
        rows = [ref if i == session_id else s.search(query) for i, s in enumerate(searches)]
        return torch.stack(rows)

    reference, negative = prior(), prior()
    flat = sampler._flat(reference)
    query = (sampler.all_data[flat] + sampler.sample_differences(len(flat))).reshape(
        *reference.shape, -1
    )
    positive = torch.stack([s.search(q) for s, q in zip(searches, query)])
    return BatchIndex(reference, positive, negative)


def floor(dataset: DatasetCollection, generator: torch.Generator, num_samples: int) -> object:
    """The cost floor: 3 x sessions x batch random integers, then gathering their windows."""
    rows = []
    for session in dataset.iter_sessions():
        high = len(session) - 2 * OFFSET[1]
        rows.append(torch.randint(0, high, (3, num_samples), generator=generator) + OFFSET[0])
    index = torch.stack(rows, dim=1)
    return dataset.load_batch(BatchIndex(index[0], index[1], index[2]))


def run(n: int, repeats: int) -> List[Tuple[str, float, str]]:
    sessions = make_sessions(n)
    collection = DatasetCollection(sessions)
    results: List[Tuple[str, float, str]] = []

    start = time.perf_counter()
    loader = ContinuousMultiSessionDataLoader(collection, num_steps=1, batch_size=BATCH, seed=0)
    build = time.perf_counter() - start
    sampler = loader.sampler
    searches = [
        BruteForceSearch(c, v & torch.isfinite(c).all(1))
        for c, v in zip(sampler.continuous, sampler.valid)
    ]
    slow_repeats = min(repeats, 3)  # the brute force takes seconds per call at full size
    ours, brute = paired_times(
        lambda: loader.get_indices(BATCH),
        lambda: brute_multisession(sampler, searches, BATCH),
        slow_repeats,
    )
    # agreement on one draw: answer the brute-force queries with the exact search
    batch, query = brute_multisession(sampler, searches, BATCH)
    agree = float((sampler.search(query) == batch.positive).float().mean())
    results.append(("time_delta: ours (exact search)", ours, f"construction {build * 1e3:.0f} ms"))
    results.append(
        ("time_delta: brute force", brute, f"ratio {brute / ours:.1f}x, agreement {agree:.4f}")
    )

    unified = UnifiedLoader(UnifiedDataset(sessions), num_steps=1, batch_size=BATCH, seed=0)
    usampler = unified.sampler
    usearches = [
        BruteForceSearch(c, v & torch.isfinite(c).all(1))
        for c, v in zip(usampler.continuous, usampler.valid)
    ]
    uours, ubrute = paired_times(
        lambda: unified.get_indices(BATCH),
        lambda: brute_unified(usampler, usearches, BATCH),
        slow_repeats,
    )
    results.append(("unified: ours (exact search)", uours, ""))
    results.append(("unified: brute force", ubrute, f"ratio {ubrute / uours:.1f}x"))

    others = {
        "time (no search)": ContinuousMultiSessionDataLoader(
            collection, num_steps=1, batch_size=BATCH, conditional="time", seed=0
        ),
        "discrete": DiscreteMultiSessionDataLoader(collection, num_steps=1, batch_size=BATCH, seed=0),
        "mixed (label + behaviour)": MixedMultiSessionDataLoader(
            collection, num_steps=1, batch_size=BATCH, seed=0
        ),
    }
    for name, other in others.items():
        results.append((name, median_time(lambda: other.get_indices(BATCH), repeats), ""))

    generator = torch.Generator().manual_seed(1)
    full, base = paired_times(
        lambda: collection.load_batch(loader.get_indices(BATCH)),
        lambda: floor(collection, generator, BATCH),
        repeats,
    )
    results.append(("floor: draw + gather windows", base, ""))
    results.append(("time_delta: full batch", full, f"ratio to floor {full / base:.1f}x"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 time steps per session")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per median")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's own)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n = 10_000 if args.quick else 100_000
    repeats = args.repeats or (5 if args.quick else 15)
    print(
        f"{SESSIONS} sessions x {n} time steps, batch {BATCH} per session, 3-D behaviour, "
        f"offset {OFFSET}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    rows = run(n, repeats)
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds * 1e3:9.2f} ms  {note}")


if __name__ == "__main__":
    main()
