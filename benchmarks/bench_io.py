"""Speed of cebra_data's file loading, as ratios against the libraries underneath.

Run: ``python benchmarks/bench_io.py`` (about a minute). Every figure is the best of
``--repeat`` runs, measured in the same process with the compared calls alternating (so that
load from other processes hits both alike), and reported as a ratio:

* ``load_deeplabcut`` on a 100,000-frame, 10-bodypart DeepLabCut prediction file (pandas
  "table" layout, as DeepLabCut writes it) against ``pandas.read_hdf`` of the same file
  (the I/O floor: it only reads the table, it does not interpolate), and against a
  re-implementation of CEBRA 0.6's row-by-row ``iloc`` walk. The row walk is timed on the
  first ``--cebra-rows`` frames and extrapolated linearly to the whole file (its cost per
  row is constant), which the output states.
* ``load_data`` per format against the plain library call that reads the same file.
* ``load_data`` against CEBRA 0.6.1's ``cebra.load_data`` on the same files (100,000 x 50
  float64 arrays; csv 10,000 x 50, Excel 2,000 x 10), per format, plain and "with touching
  the data" (summing the returned array once, which pages in memory-mapped arrays). cebra
  is imported only for this section: without it the section is skipped (the script says
  so) and the rest still runs. Figures are medians of interleaved calls; the ratio is
  CEBRA's time over ours (above 1: we are faster).

All files are written to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import pathlib
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any, Optional

import numpy as np
import pandas as pd

from cebra_data.io import load_data, load_deeplabcut


def best_time(function: Callable[[], Any], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best wall times of two functions called alternately (machine load hits both alike)."""
    best_ours = best_theirs = float("inf")
    for _ in range(repeat):
        best_ours = min(best_ours, best_time(ours, 1))
        best_theirs = min(best_theirs, best_time(theirs, 1))
    return best_ours, best_theirs


def dlc_prediction_frame(frames: int, bodyparts: int, seed: int = 0) -> pd.DataFrame:
    """A DeepLabCut-shaped prediction table with about 5% low-likelihood values."""
    rng = np.random.default_rng(seed)
    columns = pd.MultiIndex.from_product(
        [["DLC_resnet50_benchmarkJan1shuffle1_100000"], [f"part{i}" for i in range(bodyparts)],
         ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"],
    )
    values = rng.uniform(0, 640, (frames, 3 * bodyparts))
    values[:, 2::3] = rng.uniform(0.0, 1.0, (frames, bodyparts)) ** 0.05
    return pd.DataFrame(values, columns=columns)


def cebra_rowwise(df: pd.DataFrame, keypoints: list[str], pcutoff: float = 0.6) -> np.ndarray:
    """CEBRA 0.6's ``_DLCLoader.load_data`` algorithm, re-implemented for comparison.

    Frame by frame: take the row through ``iloc``/``loc``, for interior frames set
    low-likelihood keypoints to NaN, fill NaNs from the median of the previous and next
    frames (with CEBRA's ``argwhere`` row indexing), and finally drop every frame that
    still holds a NaN.
    """
    scorer = df.columns.get_level_values("scorer")[0]
    coords = df.columns.get_level_values("coords").unique().to_list()
    n_coords = len(coords)
    rows = []
    for i in range(len(df)):
        # copy=True: under pandas 3 (copy-on-write) the row view is read-only
        data = df.iloc[i].loc[scorer].loc[keypoints].to_numpy(copy=True).reshape(-1, n_coords)
        if 0 < i < len(df) - 1:
            before = df.iloc[i - 1].loc[scorer].loc[keypoints].to_numpy().reshape(-1, n_coords)
            after = df.iloc[i + 1].loc[scorer].loc[keypoints].to_numpy().reshape(-1, n_coords)
            median = np.median(np.stack([before[:, :2], after[:, :2]]), axis=0)
            if "likelihood" in coords:
                data[data[:, 2] < pcutoff] = np.nan
                data = data[:, :2]
            missing = np.argwhere(np.isnan(data))
            data[missing] = median[missing]
        rows.append(data[:, :2].reshape(1, -1))
    array = np.concatenate(rows, axis=0)
    return array[~np.isnan(array).any(axis=1)]


Row = tuple[str, float, str, float]  # case, our seconds, reference name, reference seconds


def bench_deeplabcut(directory: pathlib.Path, frames: int, repeat: int,
                     cebra_rows: int) -> list[Row]:
    """``load_deeplabcut`` against pandas (the I/O floor) and against CEBRA's row walk."""
    frame = dlc_prediction_frame(frames, 10)
    table = directory / "pose_table.h5"
    frame.to_hdf(table, key="df_with_missing", format="table", mode="w")
    fixed = directory / "pose_fixed.h5"
    frame.to_hdf(fixed, key="df_with_missing", format="fixed", mode="w")
    csv = directory / "pose.csv"
    frame.to_csv(csv)
    keypoints = [f"part{i}" for i in range(10)]

    ours, floor = compare(lambda: load_deeplabcut(table),
                          lambda: pd.read_hdf(table, "df_with_missing"), repeat)
    head = pd.read_hdf(table, "df_with_missing").iloc[:cebra_rows]
    row_walk = best_time(lambda: cebra_rowwise(head, keypoints), 1) * frames / len(head)
    ours_fixed, floor_fixed = compare(lambda: load_deeplabcut(fixed),
                                      lambda: pd.read_hdf(fixed, "df_with_missing"), repeat)
    ours_csv, floor_csv = compare(lambda: load_deeplabcut(csv),
                                  lambda: pd.read_csv(csv, header=[0, 1, 2], index_col=0), repeat)
    return [
        ("DLC h5 (table)", ours, "pandas.read_hdf", floor),
        ("DLC h5 (table)", ours, f"CEBRA row walk (x{frames // len(head)} of {len(head):,} rows)",
         row_walk),
        ("DLC h5 (fixed)", ours_fixed, "pandas.read_hdf", floor_fixed),
        ("DLC csv", ours_csv, "pandas.read_csv", floor_csv),
    ]


def bench_formats(directory: pathlib.Path, repeat: int) -> list[Row]:
    """``load_data`` per format against the library call that reads the same file."""
    import h5py
    import joblib
    import scipy.io
    import torch

    def read_h5(path: pathlib.Path) -> np.ndarray:
        """The plain h5py read."""
        with h5py.File(path, "r") as handle:
            return handle["x"][()]

    def write_h5(path: pathlib.Path) -> None:
        """One dataset named ``x``."""
        with h5py.File(path, "w") as handle:
            handle["x"] = big

    rng = np.random.default_rng(0)
    big = rng.normal(size=(100_000, 10))
    small = big[:5_000]
    cases: list[tuple[str, Callable[[pathlib.Path], None], str, Callable[[pathlib.Path], Any]]] = [
        (".npy", lambda p: np.save(p, big), "numpy.load", lambda p: np.load(p)),
        (".npz", lambda p: np.savez(p, x=big), "numpy.load", lambda p: np.load(p)["x"]),
        (".h5", write_h5, "h5py", read_h5),
        (".pt", lambda p: torch.save(torch.from_numpy(big), p), "torch.load(weights_only)",
         lambda p: torch.load(p, weights_only=True).numpy()),
        (".jl", lambda p: joblib.dump({"x": big}, p), "joblib.load", lambda p: joblib.load(p)["x"]),
        (".pkl", lambda p: p.write_bytes(pickle.dumps({"x": big})), "pickle.load",
         lambda p: pickle.loads(p.read_bytes())["x"]),
        (".mat", lambda p: scipy.io.savemat(p, {"x": big}), "scipy.io.loadmat",
         lambda p: scipy.io.loadmat(p)["x"]),
        # no header row: a row of numbers (pandas' default column names) is data to load_data
        (".csv", lambda p: pd.DataFrame(big).to_csv(p, index=False, header=False),
         "pandas.read_csv", lambda p: pd.read_csv(p, header=None).to_numpy()),
        (".xlsx", lambda p: pd.DataFrame(small).to_excel(p, index=False, header=False),
         "pandas.read_excel", lambda p: pd.read_excel(p, header=None).to_numpy()),
    ]
    rows = []
    for suffix, write, name, baseline in cases:
        path = directory / f"data{suffix}"
        write(path)
        np.testing.assert_array_equal(load_data(path), baseline(path))
        count = 2 if suffix == ".xlsx" else repeat
        shape = "5,000 x 10" if suffix == ".xlsx" else "100,000 x 10"
        ours, theirs = compare(lambda: load_data(path), lambda: baseline(path), count)
        rows.append((f"load_data {suffix} ({shape})", ours, name, theirs))
    return rows


def median_pair(ours: Callable[[], Any], theirs: Callable[[], Any],
                repeat: int) -> tuple[float, float]:
    """Median wall times of two functions called alternately."""
    ours_times, their_times = [], []
    for _ in range(repeat):
        ours_times.append(best_time(ours, 1))
        their_times.append(best_time(theirs, 1))
    return float(np.median(ours_times)), float(np.median(their_times))


CebraRow = tuple[str, float, float, float, float]  # case, ours, CEBRA, ours touched, CEBRA touched


def bench_against_cebra(directory: pathlib.Path, repeat: int) -> Optional[list[CebraRow]]:
    """``load_data`` against ``cebra.load_data`` on the same files; ``None`` without cebra."""
    try:
        import cebra  # imported here: the rest of the script runs without it
    except ImportError:
        return None
    import h5py
    import joblib
    import scipy.io
    import torch

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "io"))
    from _io_files import write_mat73

    def write_h5(path: pathlib.Path) -> None:
        with h5py.File(path, "w") as handle:
            handle["x"] = big

    rng = np.random.default_rng(0)
    big = rng.normal(size=(100_000, 50))
    cases: list[tuple[str, str, Callable[[pathlib.Path], Any], int]] = [
        (".npy", "a.npy", lambda p: np.save(p, big), repeat),
        (".npz", "a.npz", lambda p: np.savez(p, x=big), repeat),
        (".jl (dict)", "a.jl", lambda p: joblib.dump({"x": big}, p), repeat),
        (".jl (array)", "b.jl", lambda p: joblib.dump(big, p), repeat),
        (".jl (zlib, compress=3)", "c.jl", lambda p: joblib.dump({"x": big}, p, compress=3),
         max(3, repeat // 3)),
        (".pkl", "a.pkl", lambda p: p.write_bytes(pickle.dumps({"x": big})), repeat),
        (".p", "a.p", lambda p: p.write_bytes(pickle.dumps({"x": big})), repeat),
        (".mat (v5)", "a.mat", lambda p: scipy.io.savemat(p, {"x": big}), repeat),
        (".mat (v5, compressed)", "c.mat",
         lambda p: scipy.io.savemat(p, {"x": big}, do_compression=True), max(3, repeat // 3)),
        (".mat (v7.3)", "v73.mat", lambda p: write_mat73(p, {"x": big}), repeat),
        (".h5", "a.h5", write_h5, repeat),
        (".pt (tensor)", "a.pt", lambda p: torch.save(torch.from_numpy(big), p), repeat),
        (".pt (dict)", "b.pt", lambda p: torch.save({"x": torch.from_numpy(big)}, p), repeat),
        (".csv (10,000 x 50)", "a.csv",
         lambda p: pd.DataFrame(big[:10_000]).to_csv(p, index=False, header=False),
         max(3, repeat // 3)),
        (".xlsx (2,000 x 10)", "a.xlsx",
         lambda p: pd.DataFrame(big[:2_000, :10]).to_excel(p, index=False, header=False), 5),
    ]
    # the formats whose fixed costs weigh most on smaller files: 8 MB and 80 kB
    for rows_, cols in ((100_000, 10), (1_000, 10)):
        part = np.ascontiguousarray(big[:rows_, :cols])
        label = f"{rows_:,} x {cols}"
        cases += [
            (f".npy ({label})", f"s{rows_}.npy", lambda p, a=part: np.save(p, a), 4 * repeat),
            (f".pkl ({label})", f"s{rows_}.pkl", lambda p, a=part: p.write_bytes(pickle.dumps({"x": a})),
             4 * repeat),
            (f".pt ({label})", f"s{rows_}.pt", lambda p, a=part: torch.save(torch.from_numpy(a), p),
             4 * repeat),
        ]
    rows: list[CebraRow] = []
    for case, name, write, count in cases:
        path = directory / name
        write(path)
        try:
            theirs = cebra.load_data(path)
        except Exception as exc:  # CEBRA 0.6.1 cannot read some files (v7.3 MAT-files)
            print(f"{case}: cebra.load_data fails ({type(exc).__name__}: {exc}); not timed")
            continue
        np.testing.assert_array_equal(load_data(path), theirs)
        plain = median_pair(lambda: load_data(path), lambda: cebra.load_data(path), count)
        touched = median_pair(lambda: load_data(path).sum(),
                              lambda: np.asarray(cebra.load_data(path)).sum(), count)
        rows.append((case, *plain, *touched))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print one table of times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cebra-rows", type=int, default=2_000)
    parser.add_argument("--only-cebra", action="store_true",
                        help="run only the comparison with cebra.load_data")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        rows: list[Row] = []
        if not args.only_cebra:
            rows = bench_deeplabcut(directory, args.frames, args.repeat, args.cebra_rows)
            rows += bench_formats(directory, args.repeat)
        cebra_rows = bench_against_cebra(directory, max(3, args.repeat // 2))
    if rows:
        print(f"{'case':<28} {'cebra_data':>11}  {'reference':<42} {'time':>11}  {'ratio':>8}")
        for case, ours, reference, theirs in rows:
            print(f"{case:<28} {1e3 * ours:8.1f} ms  {reference:<42} {1e3 * theirs:8.1f} ms  "
                  f"{ours / theirs:8.3g}")
    if cebra_rows is None:
        print("cebra is not installed: the comparison with cebra.load_data was skipped.")
        return 0
    print("\nload_data against cebra.load_data (medians, interleaved; ratio = CEBRA / ours)")
    print(f"{'format':<24} {'ours':>9} {'CEBRA':>9} {'ratio':>6}   "
          f"{'ours+sum':>9} {'CEBRA+sum':>9} {'ratio':>6}")
    for case, ours, theirs, ours_t, theirs_t in cebra_rows:
        print(f"{case:<24} {1e3 * ours:6.2f} ms {1e3 * theirs:6.2f} ms {theirs / ours:6.2f}   "
              f"{1e3 * ours_t:6.2f} ms {1e3 * theirs_t:6.2f} ms {theirs_t / ours_t:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
