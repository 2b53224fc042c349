"""``cebra.CEBRA.fit`` on CEBRA 0.6.1 alone and under ``cebra_data.patch_cebra()``.

Each fit runs in a fresh child process (plain CEBRA, or ``python -m cebra_data.patch``),
the two sides interleaved, ``--repeats`` times per mode; one thread per process. The child
times ``fit`` only (not the imports). Prints the median time of each side, the spread
(min-max) and the ratio plain / patched, per mode.

    python benchmarks/bench_patch.py [--repeats 3] [--steps 500] [--samples 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

MODES = ("time", "time_delta", "discrete", "mixed", "multi-session", "hybrid")

CHILD = """
import json, sys, time
import numpy as np, torch
import cebra
torch.set_num_threads(1)
mode, steps, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
X = rng.normal(size=(samples, 60)).astype("float32")
X2 = rng.normal(size=(samples, 40)).astype("float32")
y = rng.uniform(size=(samples, 2)).astype("float32")
labels = rng.integers(0, 8, size=samples)
args = dict(model_architecture="offset10-model", batch_size=512, max_iterations=steps,
            output_dimension=8, num_hidden_units=32, verbose=False)
fits = {
    "time": (dict(conditional="time"), (X,)),
    "time_delta": (dict(conditional="time_delta"), (X, y)),
    "discrete": ({}, (X, labels)),
    "mixed": (dict(conditional="time_delta"), (X, y, labels)),
    "multi-session": (dict(conditional="time_delta"), ([X, X2], [y, y])),
    "hybrid": (dict(conditional="time_delta", hybrid=True), (X, y)),
}
extra, data = fits[mode]
model = cebra.CEBRA(**args, **extra)
start = time.perf_counter()
model.fit(*data)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def fit_time(patched: bool, mode: str, steps: int, samples: int) -> float:
    prefix = ["-m", "cebra_data.patch"] if patched else []
    command = [sys.executable, *prefix, _script(), mode, str(steps), str(samples)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


_SCRIPT: list = []


def _script() -> str:
    """The child's code as a file (``python -m cebra_data.patch`` runs a script or a module)."""
    if not _SCRIPT:
        handle = tempfile.NamedTemporaryFile("w", suffix=".py", prefix="bench_patch_", delete=False)
        handle.write(CHILD)
        handle.close()
        _SCRIPT.append(handle.name)
    return _SCRIPT[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    options = parser.parse_args()
    print(f"cebra.CEBRA.fit, {options.steps} steps of batch 512, {options.samples} samples x 60 "
          f"neurons, offset10-model, 1 thread; {options.repeats} interleaved runs per side")
    print(f"{'mode':<14}{'CEBRA s (min-max)':>22}{'patched s (min-max)':>24}{'ratio':>8}")
    for mode in options.modes:
        times = {False: [], True: []}
        for _ in range(options.repeats):
            for patched in (False, True):
                times[patched].append(fit_time(patched, mode, options.steps, options.samples))
        plain, ours = (statistics.median(times[p]) for p in (False, True))
        print(f"{mode:<14}{plain:>9.2f} ({min(times[False]):.2f}-{max(times[False]):.2f})"
              f"{ours:>11.2f} ({min(times[True]):.2f}-{max(times[True]):.2f}){plain / ours:>8.2f}")
    print(f"measured {time.strftime('%Y-%m-%d %H:%M')}")


if __name__ == "__main__":
    main()
