"""Sampling speed and memory of the single-session loaders, as ratios measured in one run.

For each recording length N (10^4, 10^5, 10^6 time steps; ``--quick``: 10^3, 10^4)
with a 3-D behaviour index, 120 neurons, offset (5, 5) and batch size 512:

1. ``get_indices``: time per call of every loader, and for the nearest-neighbour
   conditionals the same draw answered by CEBRA's approach -- a full
   ``(N, batch)`` distance matrix, then ``argmin`` -- reported as the ratio
   brute force / ours.
2. Full batch: ``get_indices`` + ``dataset.load_batch`` against the gather
   floor, i.e. drawing ``3 x batch`` random window starts and gathering the
   windows' rows with one ``index_select``; reported as the ratio full batch / floor.
3. Memory (for every N, in a fresh subprocess): the peak resident set size
   above the level before the measured step (Linux ``VmHWM`` after resetting
   it through ``/proc/self/clear_refs``), as a ratio to the bytes of the
   continuous index: while sampling (50 ``get_indices`` calls of the
   time-delta loader), while building that loader (KD-tree and distinct
   points), and for one brute-force draw. So that the resident set follows
   allocations, the subprocess pins glibc's ``mmap`` threshold at 64 KiB
   (``mallopt``): every larger block -- numpy's and torch's alike -- is mapped
   on allocation and returned to the system when freed, instead of being
   recycled from a heap that already counts as resident. (Timings run in the
   main process with the default allocator: a pinned threshold makes every
   large allocation fault in fresh pages and would slow the gather floor.)

Run: ``python benchmarks/bench_sampling.py [--quick] [--repeats R] [--wall]``.
Times are medians over ``R`` repetitions (after one warm-up call) of the
process's CPU time (``time.process_time``) with one torch thread, so that
other jobs on a shared machine do not distort the ratios; ``--wall`` measures
wall-clock time instead (with torch's default thread count).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch

from cebra_data import (
    ContinuousDataLoader,
    DiscreteDataLoader,
    HybridDataLoader,
    MixedDataLoader,
    TensorDataset,
)

BATCH = 512
NEURONS = 120
OFFSET = (5, 5)


CLOCK: Callable[[], float] = time.process_time


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        samples.append(CLOCK() - start)
    return statistics.median(samples)


def paired_times(first: Callable[[], object], second: Callable[[], object], repeats: int):
    """Median times of two functions measured alternately, so both see the same conditions."""
    first(), second()
    a, b = [], []
    for _ in range(repeats):
        start = CLOCK()
        first()
        middle = CLOCK()
        second()
        a.append(middle - start)
        b.append(CLOCK() - middle)
    return statistics.median(a), statistics.median(b)


def make_dataset(n: int, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    neural = torch.randn(n, NEURONS, generator=g)
    # a smooth 3-D trajectory (random walk), like tracked behaviour
    continuous = (torch.randn(n, 3, generator=g) * 0.05).cumsum(0)
    discrete = torch.randint(0, 4, (n,), generator=g)
    return TensorDataset(neural, continuous=continuous, discrete=discrete, offset=OFFSET)


def loaders(dataset: TensorDataset) -> Dict[str, object]:
    common = dict(num_steps=1, batch_size=BATCH, seed=0)
    return {
        "discrete (empirical)": DiscreteDataLoader(dataset, prior="empirical", **common),
        "discrete (uniform)": DiscreteDataLoader(dataset, prior="uniform", **common),
        "continuous (time)": ContinuousDataLoader(dataset, conditional="time", **common),
        "continuous (time_delta)": ContinuousDataLoader(dataset, conditional="time_delta", **common),
        "continuous (delta_normal)": ContinuousDataLoader(dataset, conditional="delta_normal", **common),
        "mixed (time_delta)": MixedDataLoader(dataset, **common),
        "hybrid (time_delta + time)": HybridDataLoader(dataset, **common),
    }


def brute_force_draw(continuous: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """CEBRA's search: the full (N, batch) squared-distance matrix, then argmin over N."""
    x_sq = continuous.square().sum(1, keepdim=True)
    q_sq = query.square().sum(1, keepdim=True).T
    distance = x_sq + q_sq - 2 * torch.einsum("ni,mi->nm", continuous, query)
    return distance.argmin(dim=0)


def brute_force_mixed(continuous, discrete, query, query_labels) -> torch.Tensor:
    """CEBRA's mixed search: the full matrix, other labels set to inf, then argmin."""
    x_sq = continuous.square().sum(1, keepdim=True)
    q_sq = query.square().sum(1, keepdim=True).T
    distance = x_sq + q_sq - 2 * torch.einsum("ni,mi->nm", continuous, query)
    distance[discrete[:, None] != query_labels[None, :]] = float("inf")
    return distance.argmin(dim=0)


def gather_floor(dataset: TensorDataset) -> Callable[[], torch.Tensor]:
    """The cost floor of a batch: draw ``3 x batch`` random window starts, gather them at once.

    The windows' rows (``3 x batch x len(offset)`` rows of the signal, in row
    order) are gathered with one ``index_select``. Fresh random starts are drawn
    every call, like a loader does, so the floor does not profit from a cache
    warmed by gathering the same windows again.
    """
    neural, length = dataset.neural, len(dataset.offset)
    steps = torch.arange(length)
    generator = torch.Generator().manual_seed(0)

    def floor() -> torch.Tensor:
        start = torch.randint(0, len(neural) - length + 1, (3 * BATCH,), generator=generator)
        return neural.index_select(0, (start[:, None] + steps).flatten())

    return floor


def pin_mmap_threshold(threshold: int = 64 * 1024) -> bool:
    """Make glibc map every block above ``threshold`` bytes and unmap it on free."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = libc.mallopt(m_mmap_threshold, threshold) == 1
    return ok and libc.mallopt(m_trim_threshold, threshold) == 1


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_above_now(fn: Callable[[], object]) -> int:
    """Bytes by which the resident set peaks above its current level while ``fn`` runs."""
    gc.collect()
    reset_peak()
    before = rss_kib("VmRSS")
    fn()
    return max(0, rss_kib("VmHWM") - before) * 1024


def run(sizes: List[int], repeats: int) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, clock {CLOCK.__name__}")
    print(f"batch {BATCH}, {NEURONS} neurons, offset {OFFSET}, 3-D behaviour, {repeats} repeats\n")
    for n in sizes:
        dataset = make_dataset(n)
        built = loaders(dataset)
        print(f"N = {n:.0e}")
        print(f"  {'loader':28s} {'get_indices':>12s} {'brute/ours':>11s} {'batch/floor':>12s}")
        continuous, discrete = dataset.continuous_index, dataset.discrete_index
        for name, loader in built.items():
            ours = median_time(lambda: loader.get_indices(BATCH), repeats)
            ratio_brute = ""
            distribution = getattr(loader, "distribution", None)
            if isinstance(loader, MixedDataLoader):
                reference = distribution.sample_prior(BATCH)
                query = distribution.query(reference)
                labels = discrete[reference]
                brute = median_time(lambda: brute_force_mixed(continuous, discrete, query, labels), max(3, repeats // 10))
                ratio_brute = f"{brute / ours:10.0f}x"
            elif hasattr(distribution, "query"):
                reference = distribution.sample_prior(BATCH)
                query = distribution.query(reference)
                brute = median_time(lambda: brute_force_draw(continuous, query), max(3, repeats // 10))
                ratio_brute = f"{brute / ours:10.0f}x"
            full, floor = paired_times(
                lambda: dataset.load_batch(loader.get_indices(BATCH)), gather_floor(dataset), repeats
            )
            print(f"  {name:28s} {ours * 1e3:9.3f} ms {ratio_brute:>11s} {full / floor:11.2f}x"
                  f"   (floor {floor * 1e3:.3f} ms)")
        del built, dataset
        gc.collect()
        print(memory_in_subprocess(n))


def memory_in_subprocess(n: int) -> str:
    """Run :func:`measure_memory` for ``n`` time steps in a fresh interpreter and return its line."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--memory", str(n)],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.rstrip() + "\n"


def measure_memory(n: int) -> None:
    if not pin_mmap_threshold():
        print("  warning: could not pin glibc's mmap threshold; memory figures are lower bounds")
    dataset = make_dataset(n)
    continuous = dataset.continuous_index
    index_bytes = continuous.numel() * continuous.element_size()
    ContinuousDataLoader(dataset, num_steps=1, batch_size=BATCH, seed=1)  # load lazy imports once
    gc.collect()
    holder = []
    construction = peak_above_now(
        lambda: holder.append(ContinuousDataLoader(dataset, num_steps=1, batch_size=BATCH, seed=0))
    )
    loader = holder[0]
    loader.get_indices(BATCH)
    sampling = peak_above_now(lambda: [loader.get_indices(BATCH) for _ in range(50)])
    query = loader.distribution.query(loader.distribution.sample_prior(BATCH))
    brute = peak_above_now(lambda: brute_force_draw(continuous, query))
    print(f"  memory (time_delta): sampling peak {sampling / 2**20:.2f} MiB = "
          f"{sampling / index_bytes:.2f}x the index ({index_bytes / 2**20:.1f} MiB); "
          f"construction peak {construction / 2**20:.1f} MiB = {construction / index_bytes:.1f}x; "
          f"brute-force draw peak {brute / 2**20:.0f} MiB = {brute / index_bytes:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (10^3, 10^4) for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions per figure")
    parser.add_argument("--wall", action="store_true", help="wall-clock time, default torch threads")
    parser.add_argument("--memory", type=int, default=None, metavar="N",
                        help="only measure memory for N time steps (used internally)")
    args = parser.parse_args()
    if args.memory is not None:
        measure_memory(args.memory)
        return
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    else:
        torch.set_num_threads(1)
    sizes = [10**3, 10**4] if args.quick else [10**4, 10**5, 10**6]
    repeats = args.repeats or (5 if args.quick else 50)
    run(sizes, repeats)


if __name__ == "__main__":
    main()
