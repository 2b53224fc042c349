"""Batch rate and memory of file-backed neural data against an in-memory TensorDataset.

Writes one recording of ``--samples x --neurons`` float32 values (default
400 000 x 128, about 200 MB) into a temporary directory, as ``.npy`` and as
two HDF5 datasets (contiguous; chunked + gzip), and compares four datasets of
the same values and labels:

* ``memory``: ``TensorDataset(array)``;
* ``npy-mmap``: ``TensorDataset(np.load(path, mmap_mode="r"))``;
* ``h5-contiguous``: ``HDF5Dataset`` of the contiguous dataset (memory-mapped);
* ``h5-gzip``: ``HDF5Dataset`` of the chunked, gzip-compressed dataset (sorted reads).

Each draws batches of ``--batch-size`` from a ``ContinuousDataLoader``
(``conditional="time"``, ``Offset(5, 5)``). Reported, all in one run:

1. batches per second, median of ``--repeats`` interleaved rounds of
   ``--steps`` batches (the file is in the page cache after the first round),
   and the ratio to ``memory``;
2. the growth of the process's anonymous memory (``RssAnon`` of
   ``/proc/self/status``) over 50 batches, each dataset in a fresh process;
3. batches per second of ``DataLoader(loader, num_workers=2)`` against
   ``num_workers=0`` for ``memory`` and ``npy-mmap`` (time from the first batch on).

Run: ``python benchmarks/bench_file_backed.py [--samples N] [--neurons N]
[--batch-size N] [--steps N] [--repeats N]``. The numbers depend on the machine and its load.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_files(folder, num_samples=300, num_neurons=4)
    ...     rates = batch_rates(paths, batch_size=8, steps=2, repeats=1)
    >>> sorted(rates)
    ['h5-contiguous', 'h5-gzip', 'memory', 'npy-mmap']
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict

import h5py
import numpy as np
import torch

import cebra_data

KINDS = ("memory", "npy-mmap", "h5-contiguous", "h5-gzip")


def write_files(folder: str, num_samples: int, num_neurons: int, seed: int = 0) -> Dict[str, str]:
    """Write the recording as ``neural.npy``, ``rec.h5`` (datasets ``contiguous``, ``gzip``, ``position``)."""
    rng = np.random.default_rng(seed)
    neural = rng.standard_normal((num_samples, num_neurons), dtype=np.float32)
    position = np.cumsum(rng.standard_normal(num_samples)).astype(np.float32)
    npy = os.path.join(folder, "neural.npy")
    np.save(npy, neural)
    h5 = os.path.join(folder, "rec.h5")
    with h5py.File(h5, "w") as f:
        f.create_dataset("contiguous", data=neural)
        f.create_dataset("gzip", data=neural, chunks=(min(256, num_samples), num_neurons), compression="gzip")
        f.create_dataset("position", data=position)
    return {"npy": npy, "h5": h5}


def make_dataset(kind: str, paths: Dict[str, str]) -> cebra_data.TensorDataset:
    """One of :data:`KINDS` over the files of :func:`write_files`."""
    with h5py.File(paths["h5"], "r") as f:
        position = f["position"][()]
    if kind == "memory":
        return cebra_data.TensorDataset(np.load(paths["npy"]), continuous=position, offset=(5, 5))
    if kind == "npy-mmap":
        return cebra_data.TensorDataset(np.load(paths["npy"], mmap_mode="r"), continuous=position, offset=(5, 5))
    name = "contiguous" if kind == "h5-contiguous" else "gzip"
    return cebra_data.HDF5Dataset(paths["h5"], neural=name, continuous="position", offset=(5, 5))


def _loader(dataset: cebra_data.TensorDataset, batch_size: int, steps: int) -> cebra_data.ContinuousDataLoader:
    return cebra_data.ContinuousDataLoader(dataset, num_steps=steps, batch_size=batch_size,
                                           conditional="time", seed=0)


def batch_rates(paths: Dict[str, str], batch_size: int, steps: int, repeats: int) -> Dict[str, float]:
    """Median batches per second of each kind over ``repeats`` interleaved rounds."""
    loaders = {kind: _loader(make_dataset(kind, paths), batch_size, steps) for kind in KINDS}
    rates: Dict[str, list] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        for kind, loader in loaders.items():
            begin = time.perf_counter()
            for _batch in loader:
                pass
            rates[kind].append(steps / (time.perf_counter() - begin))
    return {kind: statistics.median(values) for kind, values in rates.items()}


def rss_anon_kb() -> int:
    """The process's anonymous resident memory in kB (``RssAnon`` of ``/proc/self/status``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no RssAnon line (Linux only).")


def rss_growth_mb(kind: str, paths: Dict[str, str], batch_size: int, batches: int = 50) -> float:
    """``RssAnon`` growth (MB) over ``batches`` batches, measured after the dataset and loader exist."""
    loader = _loader(make_dataset(kind, paths), batch_size, batches)
    before = rss_anon_kb()
    for _batch in loader:
        pass
    return (rss_anon_kb() - before) / 1024


def worker_rates(kind: str, paths: Dict[str, str], batch_size: int, steps: int) -> Dict[int, float]:
    """Batches per second with 0 and 2 ``DataLoader`` workers (from the first batch on)."""
    out = {}
    for workers in (0, 2):
        loader = _loader(make_dataset(kind, paths), batch_size, steps)
        data = torch.utils.data.DataLoader(loader, batch_size=None, num_workers=workers)
        iterator = iter(data)
        next(iterator)
        begin = time.perf_counter()
        count = sum(1 for _ in iterator)
        out[workers] = count / (time.perf_counter() - begin)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=400_000)
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rss-child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        kind, folder = args.rss_child
        paths = {"npy": os.path.join(folder, "neural.npy"), "h5": os.path.join(folder, "rec.h5")}
        print(json.dumps(rss_growth_mb(kind, paths, args.batch_size)))
        return
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        paths = write_files(folder, args.samples, args.neurons)
        print(f"wrote {args.samples} x {args.neurons} float32 ({args.samples * args.neurons * 4 / 2**20:.0f} MB) "
              f"as .npy and HDF5 in {time.perf_counter() - begin:.1f} s; "
              f"h5 file {os.path.getsize(paths['h5']) / 2**20:.0f} MB")
        print(f"cpus {os.cpu_count()}, torch threads {torch.get_num_threads()}, load {os.getloadavg()}")
        rates = batch_rates(paths, args.batch_size, args.steps, args.repeats)
        print(f"\nbatch {args.batch_size}, Offset(5, 5), median of {args.repeats} interleaved rounds "
              f"of {args.steps} batches:")
        for kind in KINDS:
            print(f"  {kind:14s} {rates[kind]:8.1f} batches/s  {rates[kind] / rates['memory']:.2f} x memory")
        print("\nRssAnon growth over 50 batches (fresh process each):")
        for kind in KINDS:
            result = subprocess.run(
                [sys.executable, __file__, "--batch-size", str(args.batch_size), "--rss-child", kind, folder],
                capture_output=True, text=True, check=True,
            )
            print(f"  {kind:14s} {json.loads(result.stdout.strip().splitlines()[-1]):8.1f} MB")
        print("\nDataLoader workers (100 batches, from the first batch on):")
        for kind in ("memory", "npy-mmap"):
            w = worker_rates(kind, paths, args.batch_size, 101)
            print(f"  {kind:14s} 0 workers {w[0]:7.1f}/s, 2 workers {w[2]:7.1f}/s ({w[2] / w[0]:.2f} x)")


if __name__ == "__main__":
    main()
