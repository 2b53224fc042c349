"""End to end: ``cebra.CEBRA(...).fit`` on CEBRA 0.6.1's data layer against cebra_data's.

Each fit runs in a fresh process: CEBRA 0.6.1 as installed (``cebra``), or the same CEBRA with
``cebra_data.patch_cebra()`` called before ``import cebra`` (``cebra_data``), so that its
estimator, models and solver draw their batches from cebra_data's loaders. The two alternate,
process after process, so that load from other jobs hits both alike. Every fit uses CEBRA's
``offset10-model`` (32 hidden units, 8 output dimensions), batch size 512, learning rate
3e-4, one torch thread, on the demo's synthetic linear-track recordings
(:func:`cebra_data.demo.make_linear_track`, 50 neurons; 2 sessions for multi-session) of
``N`` time steps, the last 20 % held out. Modes, as CEBRA's estimator picks its loader:

* ``time``: ``conditional="time"``, ``fit(X)``;
* ``time_delta``: ``fit(X, position)``;
* ``discrete``: ``fit(X, direction)``;
* ``mixed``: ``fit(X, position, direction)``;
* ``multi-session``: ``fit([X1, X2], [position1, position2])``;
* ``hybrid``: ``hybrid=True``, ``fit(X, position)``.

Reported per mode and size: the time of ``fit``, as the process's CPU time (one torch thread:
robust against other jobs on a shared machine, where wall-clock times of the same fit varied by
up to 2x), median over ``--repeats`` alternating pairs of processes, the ratio CEBRA /
cebra_data (above 1: cebra_data is faster),
the share of a step spent drawing batches (the loader's ``__iter__``, measured in the
cebra_data process), and the decoding quality of both embeddings: a 5-nearest-neighbour
decoder of the position (R^2 on the held-out part; the running direction's accuracy for
``discrete``). Sizes: ``--sizes`` time steps with ``--steps`` iterations each (default 5,000
steps x 300 iterations and 100,000 steps x 100 iterations: CEBRA's continuous loaders take
about 0.7 s per batch at 100,000 steps).

``cebra_data.patch_cebra`` is cebra_data's switch for running CEBRA on cebra_data (issue 23).
Where it does not exist yet, the benchmark maps ``cebra.data`` and ``cebra.distributions``
(and their submodules) to cebra_data's modules itself with a small import hook, and says so.

Run: ``python benchmarks/bench_fit.py [--sizes 5000 100000] [--steps 300 100] [--repeats 2]
[--modes ...] [--json OUT.json] [--plot OUT.png]`` (needs ``cebra==0.6.1``; about 20 minutes
with the defaults on 2 cores, most of it CEBRA's continuous fits at 100,000 steps).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np

MODES = ("time", "time_delta", "discrete", "mixed", "multi-session", "hybrid")

#: CEBRA's modules that cebra_data answers (its data layer).
_MAPPED = ("cebra.data", "cebra.distributions")


class _MapToCebraData(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: ``cebra.data[.x]`` and ``cebra.distributions[.x]`` are cebra_data's modules."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if any(name == root or name.startswith(root + ".") for root in _MAPPED):
            ours = "cebra_data" + name[len("cebra.data"):] if name.startswith("cebra.data") else \
                "cebra_data.distributions" + name[len("cebra.distributions"):]
            if importlib.util.find_spec(ours) is not None:
                return importlib.util.spec_from_loader(name, self, origin=ours)
        return None

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(spec.origin)

    def exec_module(self, module: Any) -> None:
        """The module is cebra_data's, already executed."""


def use_cebra_data() -> str:
    """Make the next ``import cebra`` use cebra_data's data layer; return how."""
    import cebra_data

    if hasattr(cebra_data, "patch_cebra"):
        cebra_data.patch_cebra()
        return "cebra_data.patch_cebra()"
    sys.meta_path.insert(0, _MapToCebraData())
    return "import hook of bench_fit.py (cebra_data.patch_cebra not available)"


def _data(num_samples: int, sessions: int, seed: int = 0) -> List[Any]:
    from cebra_data.demo import DemoConfig, make_linear_track

    config = DemoConfig(seed=seed, num_neurons=(50,) * sessions, num_samples=(num_samples,) * sessions)
    return make_linear_track(config)


def _decode(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
            classify: bool) -> float:
    from sklearn.metrics import r2_score
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    decoder = (KNeighborsClassifier if classify else KNeighborsRegressor)(n_neighbors=5)
    decoder.fit(train_x, train_y)
    predicted = decoder.predict(test_x)
    return float((predicted == test_y).mean()) if classify else float(r2_score(test_y, predicted))


def fit_once(library: str, mode: str, num_samples: int, steps: int, seed: int = 0) -> Dict[str, Any]:
    """One fit in this process (``library`` is ``"cebra"`` or ``"cebra_data"``); see the module docstring."""
    import torch

    torch.set_num_threads(1)
    how = use_cebra_data() if library == "cebra_data" else "CEBRA 0.6.1 as installed"
    import cebra

    if library == "cebra_data" and not cebra.data.__name__.startswith("cebra_data"):
        raise RuntimeError(f"cebra.data is {cebra.data.__name__}, not cebra_data: the switch failed.")
    recordings = _data(num_samples, 2 if mode == "multi-session" else 1, seed)
    cut = int(0.8 * num_samples)
    split = [(r.neural[:cut], r.neural[cut:], r.continuous[:cut], r.continuous[cut:],
              r.discrete[:cut], r.discrete[cut:]) for r in recordings]
    model = cebra.CEBRA(
        model_architecture="offset10-model", batch_size=512, learning_rate=3e-4, temperature=1.0,
        output_dimension=8, num_hidden_units=32, max_iterations=steps, device="cpu",
        conditional="time" if mode == "time" else "time_delta", time_offsets=10,
        hybrid=mode == "hybrid", verbose=False,
    )
    x, x_test, pos, pos_test, direction, direction_test = split[0]
    args = {
        "time": (x,), "time_delta": (x, pos), "discrete": (x, direction), "mixed": (x, pos, direction),
        "hybrid": (x, pos),
        "multi-session": ([s[0] for s in split], [s[2] for s in split]),
    }[mode]
    loader_seconds = [0.0]
    if library == "cebra_data":  # time spent drawing batches, inside the loader's iterator
        from cebra_data.base import Loader

        original = Loader._next_batch

        def timed(self: Any) -> Any:
            begin = time.perf_counter()
            batch = original(self)
            loader_seconds[0] += time.perf_counter() - begin
            return batch

        Loader._next_batch = timed
    begin, cpu = time.perf_counter(), time.process_time()
    model.fit(*args)
    seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
    session = {"session_id": 0} if mode == "multi-session" else {}
    train_embedding = model.transform(x, **session)
    test_embedding = model.transform(x_test, **session)
    classify = mode == "discrete"
    quality = _decode(train_embedding, direction if classify else pos.ravel(), test_embedding,
                      direction_test if classify else pos_test.ravel(), classify)
    return {"library": library, "mode": mode, "samples": num_samples, "steps": steps,
            "fit_seconds": cpu, "wall_seconds": seconds,
            "loader_share": loader_seconds[0] / seconds if library == "cebra_data" else None,
            "quality": quality, "metric": "accuracy" if classify else "R2", "switch": how}


def _child(library: str, mode: str, samples: int, steps: int, seed: int) -> Dict[str, Any]:
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", library, mode, str(samples), str(steps),
         str(seed)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{library} {mode} N={samples} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(sizes: List[int], steps: List[int], modes: List[str], repeats: int,
        log: Optional[Any] = None) -> List[Dict[str, Any]]:
    """Every fit, CEBRA and cebra_data alternating; returns one summary row per mode and size."""
    rows = []
    for samples, iterations in zip(sizes, steps):
        for mode in modes:
            runs: Dict[str, List[Dict[str, Any]]] = {"cebra": [], "cebra_data": []}
            for repeat in range(repeats):
                order = ("cebra", "cebra_data") if repeat % 2 == 0 else ("cebra_data", "cebra")
                for library in order:
                    runs[library].append(_child(library, mode, samples, iterations, repeat))
            theirs = statistics.median(r["fit_seconds"] for r in runs["cebra"])
            ours = statistics.median(r["fit_seconds"] for r in runs["cebra_data"])
            row = {
                "mode": mode, "samples": samples, "steps": iterations,
                "cebra_seconds": theirs, "ours_seconds": ours, "ratio": theirs / ours,
                "loader_share": statistics.median(r["loader_share"] for r in runs["cebra_data"]),
                "cebra_quality": statistics.median(r["quality"] for r in runs["cebra"]),
                "ours_quality": statistics.median(r["quality"] for r in runs["cebra_data"]),
                "metric": runs["cebra"][0]["metric"], "switch": runs["cebra_data"][0]["switch"],
                "load": os.getloadavg()[0],
            }
            rows.append(row)
            if log is not None:
                print(format_row(row), file=log, flush=True)
    return rows


def format_row(row: Dict[str, Any]) -> str:
    return (f"{row['mode']:14s} {row['samples']:>7d} {row['steps']:>5d}  {row['cebra_seconds']:8.1f} s "
            f"{row['ours_seconds']:8.1f} s  {row['ratio']:7.2f}x  {100 * row['loader_share']:5.1f} %  "
            f"{row['metric']:8s} {row['cebra_quality']:6.3f} {row['ours_quality']:6.3f}  load {row['load']:.1f}")


def plot(rows: List[Dict[str, Any]], path: str) -> None:
    """Bars of the fit-time ratio CEBRA / cebra_data per mode, one group per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["samples"] for r in rows})
    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    figure, axis = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / len(sizes)
    for i, size in enumerate(sizes):
        values = [next((r["ratio"] for r in rows if r["mode"] == m and r["samples"] == size), np.nan)
                  for m in modes]
        positions = np.arange(len(modes)) + (i - (len(sizes) - 1) / 2) * width
        bars = axis.bar(positions, values, width, label=f"N = {size:,}")
        axis.bar_label(bars, labels=[f"{v:.1f}x" for v in values], fontsize=7)
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.set_yscale("log")
    axis.set_xticks(np.arange(len(modes)), modes)
    axis.set_ylabel("fit time, CEBRA / cebra_data")
    axis.legend(frameon=False, fontsize=8)
    axis.set_title("cebra.CEBRA.fit on CEBRA 0.6.1's data layer vs cebra_data's", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=150)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 100],
                        help="iterations per fit, one per size")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--repeats", type=int, default=2, help="alternating pairs of fits per row")
    parser.add_argument("--json", help="write the rows to this JSON file")
    parser.add_argument("--plot", help="write the figure of the ratios to this PNG file")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        library, mode, samples, steps, seed = args.child
        print(json.dumps(fit_once(library, mode, int(samples), int(steps), int(seed))))
        return
    if len(args.steps) != len(args.sizes):
        parser.error("--steps needs one value per --sizes value")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"one torch thread per fit, load average {os.getloadavg()[0]:.1f}")
    print(f"{'mode':14s} {'N':>7s} {'iter':>5s}  {'CEBRA':>10s} {'cebra_data':>10s}  {'ratio':>8s}  "
          f"{'loader':>7s}  quality (CEBRA, ours)")
    rows = run(args.sizes, args.steps, args.modes, args.repeats, log=sys.stdout)
    print(f"switch: {rows[0]['switch']}; load average after the run {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
