"""Sampling throughput of every loader on synthetic linear-track data.

Draws batches from every loader of ``cebra_data`` and prints, per loader, the
construction time (e.g. building the nearest-neighbour index), the mean time
to draw one batch's indices (``get_indices``), the mean time to gather its
windows (``dataset.load_batch``) and the resulting batches per second.
Single-session loaders use one session of ``--samples`` time steps;
multi-session loaders (and the ``UnifiedLoader``) three sessions of
``--samples // 3`` steps. The data are the demo's synthetic recordings
(:func:`cebra_data.demo.make_linear_track`); the window is ten time steps
(``Offset(5, 5)``). One warm-up batch is drawn before ``--steps`` timed batches.

Run: ``python benchmarks/bench_loaders.py [--samples N] [--neurons N] [--batch-size N]
[--steps N] [--seed N] [--device DEVICE] [--threads N]`` (this was ``cebra-data bench``).
Defaults: 100 000 time steps, 120 neurons, batches of 512, 50 timed batches, one
torch thread. A bad option value prints one line ``bench_loaders.py: error: ...``
and exits with status 1. The numbers depend on the machine and its load.

Example:
    >>> rows = benchmark_loaders(num_samples=300, num_neurons=8, batch_size=16, steps=2)
    >>> [row.name for row in rows][:2]
    ['ContinuousDataLoader (time)', 'ContinuousDataLoader (time_delta)']
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

import cebra_data
from cebra_data import DatasetCollection, Offset, UnifiedDataset
from cebra_data.demo import DemoConfig, make_linear_track
from cebra_data.demo.checks import check_int
from cebra_data.demo.training import torch_threads

__all__ = ["BenchmarkRow", "benchmark_loaders", "format_benchmark", "main"]

PROG = "bench_loaders.py"


@dataclasses.dataclass
class BenchmarkRow:
    """Throughput of one loader (see :func:`benchmark_loaders`).

    Attributes:
        name: the loader and its options.
        setup_seconds: construction time (e.g. building the search index).
        index_ms: mean time to draw one batch's indices.
        gather_ms: mean time to gather one batch's windows.
        note: why the loader could not run, if so.
    """

    name: str
    setup_seconds: float = float("nan")
    index_ms: float = float("nan")
    gather_ms: float = float("nan")
    note: str = ""

    @property
    def batches_per_second(self) -> float:
        """Batches per second, drawing and gathering together."""
        total = self.index_ms + self.gather_ms
        return 1000.0 / total if total > 0 else float("inf")


#: The timed loaders: (row, loader class, options, data: "single", "sessions" or "unified").
BENCHMARKS: Tuple[Tuple[str, str, Dict[str, Any], str], ...] = (
    ("ContinuousDataLoader (time)", "ContinuousDataLoader", {"conditional": "time"}, "single"),
    ("ContinuousDataLoader (time_delta)", "ContinuousDataLoader", {"conditional": "time_delta"},
     "single"),
    ("ContinuousDataLoader (delta_normal)", "ContinuousDataLoader",
     {"conditional": "delta_normal", "delta": 0.05}, "single"),
    ("DiscreteDataLoader", "DiscreteDataLoader", {}, "single"),
    ("MixedDataLoader", "MixedDataLoader", {}, "single"),
    ("HybridDataLoader", "HybridDataLoader", {}, "single"),
    ("ContinuousMultiSessionDataLoader", "ContinuousMultiSessionDataLoader", {}, "sessions"),
    ("DiscreteMultiSessionDataLoader", "DiscreteMultiSessionDataLoader", {}, "sessions"),
    ("MixedMultiSessionDataLoader", "MixedMultiSessionDataLoader", {}, "sessions"),
    ("UnifiedLoader", "UnifiedLoader", {}, "unified"),
)




def benchmark_loaders(
    num_samples: int = 100_000,
    num_neurons: int = 120,
    batch_size: int = 512,
    steps: int = 50,
    seed: int = 0,
    device: str = "cpu",
    threads: Optional[int] = 1,
) -> List[BenchmarkRow]:
    """Time every loader on synthetic linear-track data.

    Single-session loaders draw from one session of ``num_samples`` time steps;
    multi-session loaders from three sessions of ``num_samples // 3`` steps
    each (as a :class:`~cebra_data.DatasetCollection`, and as a
    :class:`~cebra_data.UnifiedDataset` for the :class:`~cebra_data.UnifiedLoader`).
    The window is ten time steps (``Offset(5, 5)``). One warm-up batch is drawn
    before ``steps`` timed batches; drawing the indices (``get_indices``) and
    gathering the windows (``load_batch``) are timed separately.

    Args:
        num_samples: time steps of the single session (the three multi-session
            sessions get a third each).
        num_neurons: neurons per session.
        batch_size: references per batch.
        steps: timed batches per loader.
        seed: seed of the data and the loaders.
        device: torch device.
        threads: torch CPU threads while timing (restored afterwards).

    Returns:
        One :class:`BenchmarkRow` per loader; a loader missing from this
        installation gets a note.

    Raises:
        ValueError: for ``num_samples`` too short for three sessions of more
            than one window, or a non-positive ``num_samples`` or ``steps``.
    """
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    offset = Offset(5, 5)
    if num_samples < 3 * len(offset) + 3:
        raise ValueError(
            f"num_samples should be at least {3 * len(offset) + 3} (three sessions of more than one "
            f"window for the multi-session loaders), but got num_samples={num_samples}."
        )
    single = make_linear_track(DemoConfig(seed=seed, num_neurons=(num_neurons,),
                                          num_samples=(num_samples,)))[0].dataset(offset, device)
    sessions = make_linear_track(DemoConfig(seed=seed, num_neurons=(num_neurons,) * 3,
                                            num_samples=(num_samples // 3,) * 3))
    data = {
        "single": single,
        "sessions": DatasetCollection([r.dataset(offset, device) for r in sessions]),
        "unified": UnifiedDataset([r.dataset(offset, device) for r in sessions]),
    }
    with torch_threads(threads):
        return [_benchmark_one(name, loader_name, options, data[kind], batch_size, steps, seed)
                for name, loader_name, options, kind in BENCHMARKS]


def _benchmark_one(name: str, loader_name: str, options: Dict[str, Any], dataset: Any,
                   batch_size: int, steps: int, seed: int) -> BenchmarkRow:
    """Build one loader, draw one warm-up batch, then time ``steps`` batches."""
    loader_cls = getattr(cebra_data, loader_name, None)
    if loader_cls is None:
        return BenchmarkRow(name, note=f"unavailable: cebra_data.{loader_name} is not installed")
    tick = time.perf_counter()
    loader = loader_cls(dataset, num_steps=steps, batch_size=batch_size, seed=seed, **options)
    setup = time.perf_counter() - tick
    dataset.load_batch(loader.get_indices(batch_size))  # warm-up
    index_seconds = gather_seconds = 0.0
    for _ in range(steps):
        tick = time.perf_counter()
        index = loader.get_indices(batch_size)
        middle = time.perf_counter()
        dataset.load_batch(index)
        index_seconds += middle - tick
        gather_seconds += time.perf_counter() - middle
    return BenchmarkRow(name, setup, 1000 * index_seconds / steps, 1000 * gather_seconds / steps)


def format_benchmark(rows: Sequence[BenchmarkRow]) -> str:
    """The benchmark as a plain-text table.

    Args:
        rows: what :func:`benchmark_loaders` returned.

    Returns:
        A header, a rule and one line per loader (its note instead of
        numbers if it could not run), without a trailing newline.
    """
    header = ["loader", "setup s", "indices ms", "gather ms", "batches/s"]
    cells = [[r.name, f"{r.setup_seconds:.3f}", f"{r.index_ms:.2f}", f"{r.gather_ms:.2f}",
              f"{r.batches_per_second:.0f}"] for r in rows if not r.note]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
    widths[0] = max([widths[0]] + [len(r.name) for r in rows])

    def render(line: Sequence[str]) -> str:
        rest = [value.rjust(width) for value, width in zip(line[1:], widths[1:])]
        return "  ".join([line[0].ljust(widths[0]), *rest])

    lines = [render(header), "-" * len(render(header))]
    numbers = iter(cells)
    for row in rows:
        lines.append(f"{row.name.ljust(widths[0])}  {row.note}" if row.note else render(next(numbers)))
    return "\n".join(lines)


def _check_device(device: str) -> str:
    """``device`` as torch spells it, if this machine has it; else a ``ValueError``."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"--device should name a torch device such as 'cpu' or 'cuda', but got {device!r}."
        ) from err
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine; use --device cpu.")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: MPS is not available on this machine; use --device cpu.")
    return str(parsed)


def _int_option(minimum: int):
    """An argparse ``type`` accepting integers ``>= minimum``."""
    kind = "positive" if minimum == 1 else "non-negative"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The script's options (those of the former ``cebra-data bench``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Draw batches from every loader on synthetic data of the chosen size and print, per "
            "loader, the time to draw the indices, the time to gather the windows and the "
            "batches per second."
        ),
    )
    positive, nonnegative = _int_option(1), _int_option(0)
    parser.add_argument("--samples", type=positive, default=100_000,
                        help="time steps of the synthetic recording (default 100000)")
    parser.add_argument("--neurons", type=positive, default=120,
                        help="neurons of the synthetic recording (default 120)")
    parser.add_argument("--batch-size", type=positive, default=512,
                        help="references per batch (default 512)")
    parser.add_argument("--steps", type=positive, default=50,
                        help="batches timed per loader (default 50)")
    parser.add_argument("--seed", type=nonnegative, default=0, help="seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=positive, default=1,
                        help="torch CPU threads (default 1)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print its table; returns the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 for an impossible option value (one line on stderr);
        argparse exits with 2 for a malformed command line.
    """
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        device = _check_device(args.device)
        rows = benchmark_loaders(num_samples=args.samples, num_neurons=args.neurons,
                                 batch_size=args.batch_size, steps=args.steps, seed=args.seed,
                                 device=device, threads=args.threads)
    except (ValueError, TypeError) as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print(f"Loader throughput on synthetic data: {args.samples} time steps x {args.neurons} "
          f"neurons (multi-session: 3 sessions of {args.samples // 3} steps), batch size "
          f"{args.batch_size}, window 10, {args.steps} batches each, device {device}")
    print()
    print(format_benchmark(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
