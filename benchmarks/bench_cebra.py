"""cebra_data against CEBRA 0.6.1, side by side in one process, for every sampling scenario.

Each row builds the same data for both libraries (``cebra.data`` and ``cebra_data``, same
arrays, same offset, batch size 512) and times the same call on both, alternating the two
calls repeat after repeat so that load from other processes hits both alike (rows of a few
microseconds time 10 or 100 calls in a row per sample). Times are medians of the process's
CPU time (``time.process_time``) with one torch thread; ``--wall``
uses wall-clock time with torch's default threads instead. The ratio is CEBRA's time over
ours: ``1.20x`` means cebra_data is 20 % faster.

Rows (batch 512, 120 neurons unless said otherwise):

* ``get_indices`` of the ``time`` loader (time offset 10), of the discrete loader (empirical
  and uniform prior, 5 labels), of the multi-session discrete loader (4 sessions of 10^5),
  and of the nearest-neighbour loaders: ``time_delta`` (1-D and 3-D index, N = 10^5 and
  10^6), ``delta_normal`` (1-D and 3-D, 10^5) and ``mixed`` (3-D + 5 labels, 10^5). CEBRA builds a full
  ``(N, batch)`` distance matrix for the last ones: it is timed ``--slow-repeats`` times.
* a full batch (``get_indices`` + ``load_batch``) of the ``time`` loader, Offset(5, 5), N =
  10^5, against the gather floor: ``3 x 512`` random window starts drawn and the windows'
  rows gathered with one ``index_select`` (both libraries' ratio to the floor is reported).
* ``load_deeplabcut`` on a DeepLabCut prediction file (``--dlc-frames`` frames, 10
  bodyparts) against ``cebra.integrations.deeplabcut.load_deeplabcut``.

File formats (``load_data``) are compared with CEBRA in ``bench_io.py`` (the DeepLabCut table
here is that script's ``dlc_prediction_frame``).

Run: ``python benchmarks/bench_cebra.py [--quick] [--repeats R] [--wall]`` (needs
``cebra==0.6.1``, which the ``test`` extra installs; about 4 minutes, most of it CEBRA's
distance matrices; ``--quick`` uses smaller sizes and skips the 10^6 distance matrix).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import tempfile
import time
import warnings
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from bench_io import dlc_prediction_frame

import cebra_data
from cebra_data.io import load_deeplabcut

BATCH = 512
NEURONS = 120
CLOCK: Callable[[], float] = time.process_time


def import_cebra():
    try:
        import cebra.data
        import cebra.integrations.deeplabcut
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "bench_cebra.py compares with CEBRA: pip install cebra==0.6.1 (the test extra has it)"
        ) from error
    return cebra


def alternate(ours: Callable[[], object], theirs: Callable[[], object], repeats: int,
              their_repeats: Optional[int] = None, inner: int = 1) -> Tuple[float, float]:
    """Median times per call of ``ours`` and ``theirs``, measured alternately.

    Each of the ``repeats`` samples times ``inner`` calls in a row (for calls of a few
    microseconds, so that reading the clock does not weigh on the figure) and is divided
    by ``inner``. One warm-up call each first.
    """
    their_repeats = repeats if their_repeats is None else their_repeats
    ours()
    if their_repeats == repeats:
        theirs()  # no warm-up for CEBRA's distance-matrix rows: one call takes seconds
    a: List[float] = []
    b: List[float] = []
    calls = range(inner)
    for i in range(max(repeats, their_repeats)):
        if i < repeats:
            start = CLOCK()
            for _ in calls:
                ours()
            a.append((CLOCK() - start) / inner)
        if i < their_repeats:
            start = CLOCK()
            for _ in calls:
                theirs()
            b.append((CLOCK() - start) / inner)
    return statistics.median(a), statistics.median(b)


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:8.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} us"


class Table:
    def __init__(self) -> None:
        print(f"  {'scenario (batch 512)':52s} {'CEBRA 0.6.1':>11s} {'cebra_data':>11s} {'CEBRA/ours':>10s}")

    def row(self, name: str, ours: float, theirs: float, note: str = "") -> None:
        print(f"  {name:52s} {fmt(theirs):>11s} {fmt(ours):>11s} {theirs / ours:9.2f}x  {note}",
              flush=True)


def arrays(n: int, seed: int, neurons: int = NEURONS, labels: int = 5):
    rng = np.random.default_rng(seed)
    neural = rng.standard_normal((n, neurons), dtype=np.float32)
    # a smooth 3-D trajectory (a random walk), like tracked behaviour
    continuous = np.cumsum(rng.standard_normal((n, 3), dtype=np.float32) * 0.05, axis=0)
    discrete = rng.integers(0, labels, n)
    return torch.from_numpy(neural), torch.from_numpy(continuous), torch.from_numpy(discrete)


def datasets(cebra, n: int, seed: int = 0, offset=(5, 5), neurons: int = NEURONS, dims: int = 3):
    neural, continuous, discrete = arrays(n, seed, neurons)
    continuous = continuous[:, :dims].contiguous()
    ours = cebra_data.TensorDataset(neural, continuous=continuous, discrete=discrete,
                                    offset=cebra_data.Offset(*offset))
    theirs = cebra.data.TensorDataset(neural, continuous=continuous, discrete=discrete,
                                      offset=cebra.data.Offset(*offset))
    return ours, theirs


def get_indices_row(table: Table, cebra, name: str, n: int, make, repeats: int,
                    their_repeats: Optional[int] = None, note: str = "", dims: int = 3,
                    inner: int = 1) -> None:
    ours_ds, theirs_ds = datasets(cebra, n, dims=dims)
    ours = make(cebra_data, ours_ds)
    theirs = make(cebra.data, theirs_ds)
    a, b = alternate(lambda: ours.get_indices(BATCH), lambda: theirs.get_indices(BATCH),
                     repeats, their_repeats, inner)
    table.row(name, a, b, note)


def multisession_row(table: Table, cebra, n: int, repeats: int) -> None:
    ours_sets, theirs_sets = zip(*(datasets(cebra, n, seed=s, neurons=10 + s) for s in range(4)))
    ours = cebra_data.DiscreteMultiSessionDataLoader(
        cebra_data.DatasetCollection(*ours_sets), num_steps=1, batch_size=BATCH)
    theirs = cebra.data.DiscreteMultiSessionDataLoader(
        cebra.data.DatasetCollection(*theirs_sets), num_steps=1, batch_size=BATCH)
    a, b = alternate(lambda: ours.get_indices(BATCH), lambda: theirs.get_indices(BATCH), repeats,
                     inner=5)
    table.row(f"multi-session discrete, 4 x {n:.0e}, get_indices", a, b)


def full_batch_row(table: Table, cebra, n: int, repeats: int) -> None:
    ours_ds, theirs_ds = datasets(cebra, n)
    ours = cebra_data.ContinuousDataLoader(ours_ds, num_steps=1, batch_size=BATCH,
                                           conditional="time", seed=0)
    theirs = cebra.data.ContinuousDataLoader(theirs_ds, num_steps=1, batch_size=BATCH,
                                             conditional="time")
    neural, length = ours_ds.neural, len(ours_ds.offset)
    steps = torch.arange(length)
    generator = torch.Generator().manual_seed(0)

    def floor() -> torch.Tensor:
        start = torch.randint(0, len(neural) - length + 1, (3 * BATCH,), generator=generator)
        return neural.index_select(0, (start[:, None] + steps).flatten())

    calls = {
        "ours": lambda: ours_ds.load_batch(ours.get_indices(BATCH)),
        "cebra": lambda: theirs_ds.load_batch(theirs.get_indices(BATCH)),
        "floor": floor,
    }
    times = {key: [] for key in calls}
    for call in calls.values():
        call()
    for _ in range(repeats):
        for key, call in calls.items():
            start = CLOCK()
            call()
            times[key].append(CLOCK() - start)
    ours_t, theirs_t, floor_t = (statistics.median(times[k]) for k in ("ours", "cebra", "floor"))
    table.row(f"full batch, time, Offset(5, 5), N={n:.0e}", ours_t, theirs_t,
              f"floor {fmt(floor_t).strip()}: cebra_data {ours_t / floor_t:.2f}x floor, "
              f"CEBRA {theirs_t / floor_t:.2f}x floor")


def dlc_row(table: Table, cebra, frames: int, repeats: int, their_repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "predictions.h5"
        dlc_prediction_frame(frames, 10).to_hdf(path, key="df_with_missing", mode="w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b = alternate(lambda: load_deeplabcut(path),
                             lambda: cebra.integrations.deeplabcut.load_deeplabcut(path),
                             repeats, their_repeats)
    table.row(f"load_deeplabcut, {frames} frames x 10 bodyparts", a, b)


def run(quick: bool, repeats: int, slow_repeats: int, dlc_frames: int) -> None:
    cebra = import_cebra()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, clock {CLOCK.__name__}, "
          f"CEBRA {cebra.__version__}, {repeats} repeats ({slow_repeats} for CEBRA's distance "
          "matrices)\n")
    big = 10**4 if quick else 10**6
    mid = 10**4 if quick else 10**5
    table = Table()

    def continuous(conditional):
        return lambda lib, ds: lib.ContinuousDataLoader(ds, num_steps=1, batch_size=BATCH,
                                                        conditional=conditional)

    def discrete(prior):
        return lambda lib, ds: lib.DiscreteDataLoader(ds, num_steps=1, batch_size=BATCH, prior=prior)

    many = repeats * 4  # the cheap rows take microseconds: many samples of many calls
    get_indices_row(table, cebra, f"time (offset 10), N={big:.0e}, get_indices", big,
                    continuous("time"), many, inner=100)
    get_indices_row(table, cebra, f"discrete, empirical prior, N={big:.0e}", big,
                    discrete("empirical"), many, inner=10)
    get_indices_row(table, cebra, f"discrete, uniform prior, N={big:.0e}", big,
                    discrete("uniform"), many, inner=10)
    multisession_row(table, cebra, mid, repeats * 4)
    full_batch_row(table, cebra, mid, repeats * 4)
    for dims in (1, 3):
        get_indices_row(table, cebra, f"time_delta ({dims}-D), N={mid:.0e}", mid,
                        continuous("time_delta"), repeats, slow_repeats, dims=dims)
        if not quick:
            get_indices_row(table, cebra, f"time_delta ({dims}-D), N={big:.0e}", big,
                            continuous("time_delta"), repeats, 1, "(CEBRA: one call)", dims=dims)
    for dims in (1, 3):
        get_indices_row(table, cebra, f"delta_normal ({dims}-D), N={mid:.0e}", mid,
                        continuous("delta_normal"), repeats, slow_repeats, dims=dims)
    get_indices_row(table, cebra, f"mixed (3-D + 5 labels), N={mid:.0e}", mid,
                    lambda lib, ds: lib.MixedDataLoader(ds, num_steps=1, batch_size=BATCH),
                    repeats, slow_repeats)
    dlc_row(table, cebra, 1000 if quick else dlc_frames, max(3, repeats // 10), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions per row")
    parser.add_argument("--slow-repeats", type=int, default=3,
                        help="repetitions of CEBRA's distance-matrix rows")
    parser.add_argument("--dlc-frames", type=int, default=10_000,
                        help="frames of the DeepLabCut file (CEBRA reads it once)")
    parser.add_argument("--wall", action="store_true", help="wall-clock time, default torch threads")
    args = parser.parse_args()
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    else:
        torch.set_num_threads(1)
    repeats = args.repeats or (5 if args.quick else 30)
    run(args.quick, repeats, 1 if args.quick else args.slow_repeats, args.dlc_frames)


if __name__ == "__main__":
    main()
