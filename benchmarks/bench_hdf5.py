"""Random-window sampling from compressed, chunked HDF5 against memory, before and after rechunk.

Writes one recording of ``--samples x --neurons`` float32 values (default 2,200,000 x 128,
1.1 GB; Gaussian noise, which gzip barely shrinks, so the gzip file is about 1 GB) into HDF5
datasets with the chunk shapes real files use, and samples each with
:class:`cebra_data.HDF5Dataset` (default ``chunk_cache_bytes``, 128 MiB) through a
``ContinuousDataLoader`` (``conditional="time"``, batch ``--batch-size``, ``Offset(5, 5)``):

* ``gzip, h5py auto``: ``chunks=True`` (h5py's guess, ``(17188, 2)`` here: a row spans 64
  chunks), ``compression="gzip"`` -- what ``create_dataset(..., compression="gzip")`` and
  pynwb's ``H5DataIO(compression="gzip")`` write;
* ``gzip, hdmf 10 MB``: the chunk shape of hdmf's ``GenericDataChunkIterator`` and
  neuroconv (about 10 MB, ``(206244, 12)`` here) -- the writers of most NWB files on DANDI;
* ``lzf, 1000 rows``: ``chunks=(1000, neurons)``, ``compression="lzf"``: a row-friendly chunk
  and the fastest codec h5py ships;
* ``rechunked``: the gzip file after :func:`cebra_data.rechunk` (contiguous, memory-mapped).

Reported, in one run: the CPU seconds per batch of each (median of ``--batches`` batches after
one warm-up batch; the slow layouts are timed on few batches because one takes seconds), the
ratio of its rate to the in-memory ``TensorDataset`` rate (one torch thread), the time ``rechunk`` took, and the
growth of the process's anonymous memory (``RssAnon``) over the batches, each layout in a
fresh process. The numbers depend on the machine and its load; the load average is printed.

Run: ``python benchmarks/bench_hdf5.py [--samples N] [--neurons N] [--batch-size N]
[--batches N] [--folder DIR]`` (``--folder`` keeps the files for a second run).

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_files(folder, num_samples=2000, num_neurons=8)
    ...     sorted(paths)
    ['gzip, h5py auto', 'gzip, hdmf 10 MB', 'lzf, 1000 rows', 'npy']
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
import warnings
from typing import Dict, Tuple

import h5py
import numpy as np

import cebra_data
from cebra_data.errors import SlowLayoutWarning


def hdmf_chunks(shape: Tuple[int, int], itemsize: int = 4) -> Tuple[int, int]:
    """The default chunk shape of hdmf's ``GenericDataChunkIterator`` (10 MB) for ``shape``.

    Asked from hdmf itself when it is installed (the ``nwb`` extra); otherwise 10 MB bands
    of whole rows.
    """
    try:
        from hdmf.data_utils import GenericDataChunkIterator
    except ImportError:  # pragma: no cover - depends on the environment
        return max(1, min(shape[0], int(10e6 // (shape[1] * itemsize)))), shape[1]

    class _Shape(GenericDataChunkIterator):
        def _get_data(self, selection):
            return np.zeros(1, "f4")

        def _get_maxshape(self):
            return shape

        def _get_dtype(self):
            return np.dtype(f"f{itemsize}")

    return tuple(int(c) for c in _Shape().chunk_shape)


def write_files(folder: str, num_samples: int, num_neurons: int, seed: int = 0) -> Dict[str, str]:
    """Write the recording as ``.npy`` and as the three chunked HDF5 layouts; return their paths."""
    rng = np.random.default_rng(seed)
    neural = rng.standard_normal((num_samples, num_neurons), dtype=np.float32)
    position = np.cumsum(rng.standard_normal(num_samples)).astype(np.float32)
    paths = {"npy": os.path.join(folder, "neural.npy")}
    np.save(paths["npy"], neural)
    layouts = {
        "gzip, h5py auto": dict(chunks=True, compression="gzip"),
        "gzip, hdmf 10 MB": dict(chunks=hdmf_chunks(neural.shape), compression="gzip"),
        "lzf, 1000 rows": dict(chunks=(min(1000, num_samples), num_neurons), compression="lzf"),
    }
    for i, (name, kwargs) in enumerate(layouts.items()):
        paths[name] = os.path.join(folder, f"rec{i}.h5")
        with h5py.File(paths[name], "w") as f:
            f.create_dataset("neural", data=neural, **kwargs)
            f.create_dataset("position", data=position)
    return paths


def dataset(kind: str, paths: Dict[str, str]) -> cebra_data.TensorDataset:
    with h5py.File(paths["gzip, h5py auto"], "r") as f:
        position = f["position"][()]
    if kind == "memory":
        return cebra_data.TensorDataset(np.load(paths["npy"]), continuous=position, offset=(5, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowLayoutWarning)
        return cebra_data.HDF5Dataset(paths[kind], neural="neural", continuous="position", offset=(5, 5))


def rss_anon_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no RssAnon line (Linux only).")


def measure(kind: str, paths: Dict[str, str], batch_size: int, batches: int) -> Dict[str, float]:
    """Seconds per batch (median after a warm-up batch) and RssAnon growth (MB) from before construction."""
    import torch

    torch.set_num_threads(1)  # two threads spin against other jobs on a shared 2-core machine
    before = rss_anon_kb()
    data = dataset(kind, paths)
    loader = cebra_data.ContinuousDataLoader(data, num_steps=batches + 1, batch_size=batch_size,
                                             conditional="time", seed=0)
    times = []
    begin = time.process_time()  # CPU time: robust against other jobs on a shared machine
    for _batch in loader:
        now = time.process_time()
        times.append(now - begin)
        begin = now
    return {"seconds": statistics.median(times[1:]),
            "rss_mb": (rss_anon_kb() - before) / 1024}


def _child(kind: str, paths: Dict[str, str], batch_size: int, batches: int) -> Dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(paths), "--batch-size", str(batch_size),
         "--batches", str(batches)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2_200_000)
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--batches", type=int, default=3, help="timed batches of the slow layouts")
    parser.add_argument("--folder", help="keep (and reuse) the files in this folder")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, paths = args.child
        print(json.dumps(measure(kind, json.loads(paths), args.batch_size, args.batches)))
        return
    folder = args.folder or tempfile.mkdtemp(prefix="bench_hdf5_")
    os.makedirs(folder, exist_ok=True)
    paths_file = os.path.join(folder, "paths.json")
    begin = time.perf_counter()
    if os.path.exists(paths_file):
        with open(paths_file) as handle:
            paths = json.load(handle)
    else:
        paths = write_files(folder, args.samples, args.neurons)
        with open(paths_file, "w") as handle:
            json.dump(paths, handle)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; files ready in "
          f"{time.perf_counter() - begin:.0f} s")
    for name, path in paths.items():
        if name != "npy":
            with h5py.File(path) as f:
                node = f["neural"]
                print(f"  {name:18s} chunks {node.chunks}, {node.compression}, "
                      f"file {os.path.getsize(path) / 1e9:.2f} GB")
    rechunked = os.path.join(folder, "rechunked.h5")
    begin = time.perf_counter()
    cebra_data.rechunk(paths["gzip, h5py auto"], rechunked, overwrite=True)
    rechunk_seconds = time.perf_counter() - begin
    paths["rechunked"] = rechunked
    print(f"rechunk of the gzip (h5py auto) file: {rechunk_seconds:.0f} s, "
          f"{os.path.getsize(rechunked) / 1e9:.2f} GB written")
    kinds = ["memory", "rechunked", "lzf, 1000 rows", "gzip, h5py auto", "gzip, hdmf 10 MB"]
    results = {}
    for kind in kinds:
        many = 50 if kind in ("memory", "rechunked") else args.batches
        results[kind] = _child(kind, paths, args.batch_size, many)
    memory = results["memory"]["seconds"]
    print(f"\nbatch {args.batch_size}, Offset(5, 5), time loader; each layout in a fresh process:")
    print(f"  {'layout':18s} {'s/batch':>10s} {'x memory rate':>14s} {'RssAnon +MB':>12s}")
    for kind in kinds:
        r = results[kind]
        print(f"  {kind:18s} {r['seconds']:10.4f} {memory / r['seconds']:14.4f} {r['rss_mb']:12.1f}")
    print(f"load average after the run {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
