"""How much the demo's figures move between CPUs: kernel levels, thread counts and seeds.

Torch, MKL and oneDNN choose their kernels (SSE, AVX2, AVX-512) and their
thread splits by CPU, so a trained number differs in its last bits from one
machine to another, and after a few hundred optimiser steps often by more.
This script runs the default demo (``cebra_data.demo.run_demo``) in a fresh
process per setting, with the kernels forced to each level the CPU supports
and with 1 and 2 torch threads per fit, for the docs' seed and a few others,
and prints per row and column the smallest and largest value.

The docs' table (docs/cli.rst) is the seed-0 run; the test that compares the
demo with it (tests/test_demo_docs.py) allows, per figure, the spread listed
in ``tests/data/demo_spread.json``, which this script writes with
``--write``.

Usage::

    python benchmarks/demo_spread.py                 # kernels x threads for seed 0, seeds 0-4 at the best kernel
    python benchmarks/demo_spread.py --write tests/data/demo_spread.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List

#: Environment that forces every kernel library to one instruction-set level.
KERNEL_LEVELS = {
    "sse": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
               "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
}

#: Runs one demo and prints its rows as JSON (in a fresh process, so the
#: kernel variables are read before torch loads).
CHILD = r"""
import json, sys, torch
from cebra_data.demo import DemoConfig, run_demo
config = DemoConfig(seed=int(sys.argv[1]), threads=int(sys.argv[2]))
result = run_demo(config, out_dir=None, progress=None)
print(json.dumps({
    "capability": torch.backends.cpu.get_cpu_capability(),
    "rows": {row.name: [row.final_loss, row.decoding_r2, row.consistency] for row in result.rows},
}))
"""

COLUMNS = ("final loss", "decoding R2", "consistency R2")


def cpu_flags() -> set:
    """The CPU's feature flags (Linux), used to skip levels the CPU lacks."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def supported_levels() -> List[str]:
    flags = cpu_flags()
    levels = ["sse"]
    if "avx2" in flags:
        levels.append("avx2")
    if "avx512f" in flags and "avx512bw" in flags:
        levels.append("avx512")
    return levels


def run(level: str, threads: int, seed: int) -> Dict:
    env = dict(os.environ, **KERNEL_LEVELS[level], OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", CHILD, str(seed), str(threads)], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 at the best kernel level")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--write", help="write the spread (min, max per figure) as JSON here")
    parser.add_argument("--log", help="append each run's result as one JSON line to this file")
    args = parser.parse_args(argv)

    levels = supported_levels()
    runs = []  # (level, threads, seed, result)
    settings = [(lv, th, 0) for lv, th in itertools.product(levels, args.threads)]
    settings += [(levels[-1], 1, seed) for seed in range(1, args.seeds)]
    for level, threads, seed in settings:
        tick = time.perf_counter()
        result = run(level, threads, seed)
        runs.append((level, threads, seed, result))
        if args.log:
            with open(args.log, "a") as handle:
                handle.write(json.dumps({"level": level, "threads": threads, "seed": seed, **result}) + "\n")
        print(f"# {level:6s} (torch reports {result['capability']}) threads {threads} seed {seed}: "
              f"{time.perf_counter() - tick:.0f} s", file=sys.stderr)

    names = list(runs[0][3]["rows"])
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"kernel levels {', '.join(levels)}; threads {args.threads}")
    spread = {}
    for seed_group, title in ((lambda s: s == 0, "seed 0 across kernels and threads"),
                              (lambda s: True, "all seeds")):
        print(f"\n{title}:")
        for name in names:
            cells = []
            for c, column in enumerate(COLUMNS):
                values = [r[3]["rows"][name][c] for r in runs if seed_group(r[2])]
                values = [v for v in values if v is not None]
                if not values:
                    cells.append(f"{column} -")
                    continue
                cells.append(f"{column} {min(values):.3f}..{max(values):.3f}")
                if title.startswith("seed 0"):
                    spread.setdefault(name, {})[column] = [min(values), max(values)]
            print(f"  {name:36s} " + "  ".join(cells))
    print("\nper run (seed 0):")
    for level, threads, seed, result in runs:
        if seed == 0:
            values = "  ".join(f"{r[0]:.3f}/{r[1]:.3f}" for r in result["rows"].values())
            print(f"  {level:6s} threads {threads}: {values}")
    if args.write:
        with open(args.write, "w") as handle:
            json.dump({"levels": levels, "threads": args.threads, "spread": spread}, handle, indent=1)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
