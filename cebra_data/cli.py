"""The ``cebra-data`` command line: ``demo``, ``inspect`` and ``rechunk``.

This module only parses arguments and prints; the work is done by
:mod:`cebra_data.demo` and :func:`cebra_data.io.inspect_file`. Every
subcommand has ``--help``. A user error (a bad file, a bad option value)
prints one line ``cebra-data: error: ...`` on stderr and exits with status 1;
argparse's own usage errors exit with status 2; success exits with 0.

The loader throughput benchmark (formerly ``cebra-data bench``) is the script
``python benchmarks/bench_loaders.py`` in the source tree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

import cebra_data
from cebra_data.errors import CebraDataError
from cebra_data.io.deeplabcut import DEFAULT_PCUTOFF

__all__ = ["main", "build_parser", "USER_ERRORS"]

#: The exception types that mean "the user asked for something impossible":
#: reported in one line, without a traceback.
USER_ERRORS = (CebraDataError, ValueError, TypeError, KeyError, FileNotFoundError, OSError)

DEFAULT_OUT = "cebra_data_demo"


def _message(error: BaseException) -> str:
    """One line: the exception's message (``KeyError`` without its quotes)."""
    if isinstance(error, KeyError) and len(error.args) == 1 and not isinstance(error, CebraDataError):
        text = str(error.args[0])
    else:
        text = str(error)
    text = " ".join(text.split())
    return text or type(error).__name__


def _check_device(device: str) -> str:
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"--device should name a torch device such as 'cpu' or 'cuda', but got {device!r}.") from err
    from cebra_data.device import check_device_available

    return check_device_available(parsed)


# --------------------------------------------------------------------------- demo


def _demo(args: argparse.Namespace) -> int:
    from cebra_data import demo

    device = _check_device(args.device)
    lengths = tuple(int(round(args.samples * factor)) for factor in (1.0, 1.2, 1.4))
    config = demo.DemoConfig(seed=args.seed, steps=args.steps, batch_size=args.batch_size,
                             num_samples=lengths, device=device, threads=args.threads,
                             jobs=args.jobs)
    recordings = None
    behaviour, label = "position", "direction"
    nwb_only = {"--bin-size": args.bin_size, "--discrete": args.discrete, "--trials": args.trials}
    if args.nwb is None and any(v is not None for v in nwb_only.values()):
        given = [k for k, v in nwb_only.items() if v is not None]
        raise ValueError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with --nwb "
                         "(object paths in an NWB file).")
    if args.nwb is not None:
        if not args.neural or len(args.neural) != 1:
            raise ValueError("--nwb needs one --neural: the object path of the neural series in the "
                             "file, or 'units' (with --bin-size) for the spike times.")
        recordings = [demo.load_nwb_recording(args.nwb, args.neural[0], args.behavior, args.discrete,
                                              bin_size=args.bin_size, trials=args.trials)]
        behaviour, label = "behaviour", "label"
    elif args.neural or args.behavior:
        if not (args.neural and args.behavior):
            raise ValueError("--neural and --behavior go together: pass one behaviour file per neural file.")
        recordings = demo.load_recordings(args.neural, args.behavior, args.neural_key, args.behavior_key)
        behaviour, label = "behaviour", "label"
    print("cebra-data demo: fitting a small contrastive encoder on batches from each loader",
          flush=True)
    result = demo.run_demo(config, recordings=recordings, out_dir=args.out,
                           progress=None if args.quiet else sys.stderr,
                           behaviour=behaviour, label=label)
    print(result.description)
    print()
    print(demo.format_table(result))
    print()
    print("batches/s: the data layer alone (drawing indices and gathering windows), "
          f"batch size {config.batch_size}.")
    discrete = [row.name for row in result.rows if row.name.startswith("discrete")]
    print(f"decoding R2: kNN decoder of the {behaviour}"
          + (f" (of the {label} for the discrete fit)" if discrete else "")
          + " fit on the training part, scored on the held-out part (true labels, also for the "
          "shuffled controls).")
    if any(row.consistency is not None for row in result.rows):
        print(f"consistency R2: linear fits between the sessions' {behaviour}-binned embeddings "
              "(held-out parts), averaged over session pairs.")
    if result.figure:
        print(f"Figure written to {os.path.abspath(result.figure)}")
    elif result.figure_note:
        print(result.figure_note)
    print(f"Total time: {result.seconds:.1f} s")
    return 0


# --------------------------------------------------------------------------- inspect


def _fraction(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _name(value: Any) -> str:
    return "/".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _print_inspection(info: Dict[str, Any]) -> None:
    print(f"{info['path']}  ({info['format']})")
    if info.get("default_key") is not None:
        print(f"load_data reads entry {info['default_key']!r} when no key is given")
    elif info.get("default_reason"):  # what load_data(path) raises, as load_data says it
        print(f"load_data without a key: {info['default_reason']}")
    else:
        print("load_data needs a key for this file (no single numeric entry to take by default)")
    entries = info["entries"]
    readable = sum(1 for e in entries if e.get("readable", "error" not in e))
    print(f"{readable} of {len(entries)} entries can be loaded ('*' marks the default; an "
          "entry load_data cannot return is followed by the reason)")
    for entry in entries:
        marker = "*" if entry.get("default") else "-"
        if "error" in entry:
            print(f"{marker} {entry['name']}: unreadable ({entry['error']})")
            continue
        shape = "x".join(map(str, entry["shape"])) if entry.get("shape") is not None else "-"
        nan = entry.get("nan_count")
        numeric = "" if entry.get("numeric") else ", not numeric"
        print(f"{marker} {entry['name']}: shape {shape}, dtype {entry['dtype']}{numeric}, "
              f"NaN {'-' if nan is None else nan}")
        if entry.get("readable") is False and entry.get("reason"):
            print(f"    not loadable: {entry['reason']}")
        columns = entry.get("columns")
        dlc = entry.get("deeplabcut")
        if columns and not dlc:
            shown = columns[:20]
            for column in shown:
                nan = column["nan_count"]
                print(f"    {_name(column['name'])}: {column['dtype']}, NaN {'-' if nan is None else nan}")
            if len(columns) > len(shown):
                print(f"    ... {len(columns) - len(shown)} more columns")
        if dlc:
            individuals = dlc.get("individuals")
            print(f"    DeepLabCut: scorer {dlc['scorer']}, {dlc['frames']} frames, "
                  f"{'with' if dlc['has_likelihood'] else 'without'} likelihood")
            print(f"    individuals: {', '.join(individuals) if individuals else '(single animal)'}")
            print(f"    bodyparts: {', '.join(dlc['bodyparts'])}")
            keypoints = dlc.get("keypoints") or []
            if keypoints:
                width = max([len("keypoint")] + [len(_keypoint(k)) for k in keypoints])
                below = f"below pcutoff {dlc['pcutoff']:g}"
                print(f"    {'keypoint'.ljust(width)}  {below}  missing")
                for k in keypoints:
                    print(f"    {_keypoint(k).ljust(width)}  "
                          f"{_fraction(k['below_pcutoff']).rjust(len(below))}  "
                          f"{_fraction(k['missing']).rjust(len('missing'))}")
        if "clock" in entry:
            rate = "-" if entry.get("rate") is None else f"{entry['rate']:g} Hz"
            print(f"    {entry['neurodata_type']}: {rate} ({entry['clock']}), "
                  f"{_seconds(entry['start_time'])} .. {_seconds(entry['stop_time'])} s")
    units = info.get("units")
    if units:
        if "error" in units:
            print(f"units table: unreadable ({units['error']})")
        else:
            print(f"units table: {units['count']} units, {units['spikes']} spikes, "
                  f"{_seconds(units['start_time'])} .. {_seconds(units['stop_time'])} s; "
                  f"columns: {', '.join(units['columns']) or '-'}")
            if units.get("usage"):
                print(f"    read it with {units['usage']}")
    _print_intervals(info.get("intervals") or {})
    poses = info.get("poses")
    if poses:
        _print_poses(poses)


def _print_intervals(intervals: Dict[str, Any]) -> None:
    """The interval tables of an NWB file, with the ``from_nwb`` arguments that use them."""
    for name, table in intervals.items():
        if "error" in table:
            print(f"interval table {name}: unreadable ({table['error']})")
            continue
        columns = ", ".join(f"{c} ({kind})" for c, kind in table["columns"].items()) or "-"
        print(f"interval table {name}: {table['rows']} intervals, {_seconds(table['start_time'])} "
              f".. {_seconds(table['stop_time'])} s; columns: {columns}")
        print(f"    use it with {table['usage']}")


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:g}"


def _print_poses(poses: Dict[str, Any]) -> None:
    """The pose summary of :func:`cebra_data.io.inspect_file`: who, what, and the gaps per keypoint."""
    if "error" in poses:
        print(f"poses ({poses['source']}): unreadable ({poses['error']})")
        return
    print(f"poses ({poses['source']}): {poses['frames']} frames, space {', '.join(poses['space'])}")
    print(f"    individuals: {', '.join(poses['individuals'])}")
    print(f"    keypoints: {', '.join(poses['keypoints'])}")
    points = poses.get("points") or []
    if points:
        names = [f"{p['individual']}/{p['keypoint']}" for p in points]
        width = max([len("keypoint")] + [len(n) for n in names])
        print(f"    {'keypoint'.ljust(width)}  gaps (interpolated)")
        for name, point in zip(names, points):
            note = "" if point["present"] else "  never observed"
            print(f"    {name.ljust(width)}  {_fraction(point['gaps'])}{note}")


def _keypoint(keypoint: Dict[str, Any]) -> str:
    individual = keypoint.get("individual")
    return f"{individual}/{keypoint['bodypart']}" if individual else str(keypoint["bodypart"])


def _inspect(args: argparse.Namespace) -> int:
    from cebra_data.io import inspect_file

    info = inspect_file(args.file, key=args.key, trusted=args.trusted, pcutoff=args.pcutoff)
    try:
        summary = _dataset_summary(args) if args.key is None else None
    except USER_ERRORS as error:  # the entries are described all the same
        summary = None
        info["dataset_error"] = _message(error)
    if args.json:
        if summary is not None:
            info["dataset"] = dict(summary)
        print(json.dumps(info, indent=2, default=str))
    else:
        _print_inspection(info)
        if info.get("dataset_error"):
            print(f"\nNot usable as a dataset file: {info['dataset_error']}")
        if summary is not None:
            print()
            print("As a dataset (entries named like TensorDataset's arguments):")
            print(str(summary))
    return 0


def _rechunk(args: argparse.Namespace) -> int:
    from cebra_data.io.rechunk import rechunk

    names = rechunk(args.source, args.destination, args.dataset, dtype=args.dtype,
                    overwrite=args.overwrite)
    listing = ", ".join(names) if names else "none (no chunked, virtual or external numeric dataset)"
    print(f"wrote {args.destination}; rewritten contiguous and uncompressed: {listing}")
    return 0


def _dataset_summary(args: argparse.Namespace) -> Optional[Any]:
    """``describe()`` of the file as a dataset, or ``None`` if it is not a dataset file."""
    from cebra_data.io.dataset_file import dataset_entries
    from cebra_data.io.remote import is_url

    if is_url(args.file) or str(args.file).lower().endswith(".nwb"):
        return None  # NWB: named by object paths, never a dataset file; opened once above
    present = dataset_entries(args.file, trusted=args.trusted)
    if "neural" not in present or not {"continuous", "discrete"} & set(present):
        return None
    from cebra_data import TensorDataset

    return TensorDataset.from_file(args.file, trusted=args.trusted).describe()


# --------------------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


#: The shortest first session ``--samples`` accepts: every fit needs train and held-out
#: blocks of at least one window (10 steps) with a window's gap between them (58 is the
#: least that runs; 100 leaves room).
MIN_SAMPLES = 100


def _samples(text: str) -> int:
    value = _positive_int(text)
    if value < MIN_SAMPLES:
        raise argparse.ArgumentTypeError(
            f"expected at least {MIN_SAMPLES} time steps (each session is split into training "
            f"and held-out blocks of whole windows), got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cebra-data`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="cebra-data",
        description="cebra_data: a data layer for contrastive embedding of neural recordings.",
    )
    parser.add_argument("--version", action="version", version=f"cebra-data {cebra_data.__version__}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="fit a small encoder with every loader and print one table",
        description=(
            "Fit a small contrastive encoder (three convolutions, receptive field 10, InfoNCE "
            "with cosine similarity) on batches from each loader: time-contrastive, time_delta "
            "on the behaviour and on shuffled behaviour, discrete, mixed and multi-session. "
            "Without files it uses a deterministic synthetic recording of a rat on a 1.6 m "
            "linear track (three sessions with 60, 90 and 120 place-cell-like neurons). Prints "
            "one table (batches/s of the data layer, final loss, held-out decoding R2, "
            "cross-session consistency) and writes a figure of the embeddings to "
            f"./{DEFAULT_OUT}/embeddings.png in the current directory (--out DIR to change; the "
            "folder is created if needed and the path is printed at the end)."
        ),
    )
    demo.add_argument("--steps", type=_positive_int, default=300,
                      help="training steps per fit (default 300)")
    demo.add_argument("--batch-size", type=_positive_int, default=128,
                      help="references per batch (default 128; per session for multi-session fits)")
    demo.add_argument("--seed", type=_nonnegative_int, default=0,
                      help="seed of the data, the models and the loaders (default 0)")
    demo.add_argument("--samples", type=_samples, default=3000, metavar="N",
                      help="time steps of the first synthetic session; the others have 1.2 N "
                           f"and 1.4 N (default 3000, at least {MIN_SAMPLES})")
    demo.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                      help=f"directory for the figure embeddings.png (default ./{DEFAULT_OUT})")
    demo.add_argument("--device", default="cpu", help="torch device (default cpu)")
    demo.add_argument("--threads", type=_positive_int, default=1,
                      help="torch CPU threads per fit (default 1: fastest for this small model)")
    demo.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                      help="fits run at the same time, one thread each (default: one per "
                           "available CPU core)")
    demo.add_argument("--neural", nargs="+", metavar="FILE",
                      help="neural data file(s), one per session, read with load_data")
    demo.add_argument("--behavior", nargs="+", metavar="FILE",
                      help="behaviour file(s), one per --neural file; integer labels in one "
                           "column are a discrete label, anything else continuous")
    demo.add_argument("--neural-key", metavar="K", help="entry of the neural file(s) to read")
    demo.add_argument("--behavior-key", metavar="K", help="entry of the behaviour file(s) to read")
    demo.add_argument("--nwb", metavar="PATH_OR_URL",
                      help="run on one NWB file (a path or an http(s) URL, read by byte ranges): "
                           "--neural and --behavior then name object paths in it, e.g. --neural "
                           "units --bin-size 0.05 --behavior processing/behavior/Position/pos")
    demo.add_argument("--bin-size", type=float, metavar="S",
                      help="with --nwb and --neural units: seconds per spike-count bin")
    demo.add_argument("--discrete", metavar="PATH",
                      help="with --nwb: a series of integer labels or an interval column such as "
                           "intervals/trials/stimulus")
    demo.add_argument("--trials", metavar="PATH",
                      help="with --nwb: an interval table (e.g. intervals/trials); only the time "
                           "steps inside its intervals are used")
    demo.add_argument("--quiet", action="store_true", help="no progress bars on stderr")
    demo.set_defaults(func=_demo)

    inspect = sub.add_parser(
        "inspect",
        help="show what load_data sees in a file",
        description=(
            "Describe a data file as cebra_data.load_data sees it: its entries with shape, dtype "
            "and NaN count, the entry read by default, and for DeepLabCut files the "
            "individuals, body parts and, per keypoint, the fraction of frames below pcutoff."
        ),
    )
    inspect.add_argument("file", help="the file to describe (or the http(s) URL of an NWB file)")
    inspect.add_argument("--key", help="describe only this entry")
    inspect.add_argument("--pcutoff", type=float, default=DEFAULT_PCUTOFF,
                         help=f"likelihood threshold for DeepLabCut files (default {DEFAULT_PCUTOFF})")
    inspect.add_argument("--trusted", action="store_true",
                         help="allow pickle-based files that can run code (only for files you trust)")
    inspect.add_argument("--json", action="store_true", help="print the description as JSON")
    inspect.set_defaults(func=_inspect)

    rechunk = sub.add_parser(
        "rechunk",
        help="rewrite an HDF5/NWB file so that HDF5Dataset samples it at memory speed",
        description=(
            "Copy an HDF5 or NWB file with its chunked (e.g. gzip-compressed), virtual or "
            "externally stored numeric datasets rewritten contiguous and uncompressed, which "
            "HDF5Dataset memory-maps. Everything else is copied unchanged."
        ),
    )
    rechunk.add_argument("source", metavar="IN", help="the HDF5 or NWB file")
    rechunk.add_argument("destination", metavar="OUT", help="the file to write")
    rechunk.add_argument("--dataset", action="append", metavar="PATH",
                         help="rewrite only this dataset (repeatable; default: every chunked, "
                              "virtual or external numeric dataset)")
    rechunk.add_argument("--dtype", choices=["float32"],
                         help="convert the rewritten datasets to float32 (default: keep their dtype)")
    rechunk.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    rechunk.set_defaults(func=_rechunk)

    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``cebra-data``; returns the process exit code.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 1 for a user error (one line on stderr), 2 for a usage
        error (argparse's message).
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ncebra-data: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        print(f"cebra-data: error: {_message(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
