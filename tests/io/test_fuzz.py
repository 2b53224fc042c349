"""Fuzz test: mutated and truncated files of every suffix, and crafted pickles.

Rule, for every call: ``load_data`` returns the exact original value (what it returns for
the unmutated file), or exactly what the underlying library returns for the mutated file,
or raises a documented error (a :class:`~cebra_data.errors.CebraDataError`) naming the
file; ``inspect_file`` returns a description or raises a documented error. Never a
crash, a hang or an undocumented exception. Every load runs in a forked child with a
memory cap (``resource.setrlimit``) and a time limit.

Mutations are seeded (seed 20261203) and bounded: ``MUTATIONS`` per base file, one base
file per supported suffix plus the layouts the plain samples do not reach. Crafted pickles
call every global the restricted unpickler resolves (and every stand-in it substitutes)
through each opcode that can run it (REDUCE, NEWOBJ, BUILD) with hostile arguments.
"""

from __future__ import annotations

import collections
import pathlib
import pickle
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse
from _io_files import SAMPLE_X, WRITERS, write_mat73, write_sample
from _isolated import describe_error, run_isolated
from _library import judge, ours, reference

from cebra_data.io import inspect_file, load_data, supported_suffixes
from cebra_data.io.safe_pickle import _STAND_INS, SAFE_GLOBALS
from conftest import dlc_frame

SEED = 20261203
MUTATIONS = 10
SECONDS = 20.0
BATCH = 12


def _extra_files(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    """Layouts the plain samples do not reach: pandas HDF, DLC csv, compressed variants."""
    values = np.random.default_rng(SEED).uniform(0, 1, (12, 6))
    pose = dlc_frame(values, ["nose", "tail"])
    files = {
        "dlc_table.h5": lambda p: pose.to_hdf(p, key="df_with_missing", format="table"),
        "dlc.csv": lambda p: pose.to_csv(p),
        "zlib.jl": lambda p: joblib.dump({"x": SAMPLE_X}, p, compress=3),
        "compressed.mat": lambda p: scipy.io.savemat(
            p, {"x": SAMPLE_X, "s": {"f": SAMPLE_X},
                "sp": scipy.sparse.csc_matrix(np.eye(3))}, do_compression=True),
        "v73.mat": lambda p: write_mat73(p, {"x": SAMPLE_X}, struct={"f": SAMPLE_X}),
        "frame.pkl": lambda p: pd.DataFrame(SAMPLE_X, columns=["a", "b", "c"]).to_pickle(p),
    }
    paths = {}
    for name, write in files.items():
        path = directory / name
        write(path)
        paths[name] = path
    return paths


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """Truncate, overwrite a few bytes, zero a run, or do two of these."""
    mutated = bytearray(data)
    mode = int(rng.integers(4))
    if mode in (0, 3):
        mutated = mutated[: int(rng.integers(1, len(mutated)))]
    if mode in (1, 3):
        for _ in range(int(rng.integers(1, 6))):
            mutated[int(rng.integers(len(mutated)))] = int(rng.integers(256))
    if mode == 2:
        start = int(rng.integers(len(mutated)))
        stop = min(len(mutated), start + int(rng.integers(1, 64)))
        mutated[start:stop] = bytes(stop - start)
    return bytes(mutated)


def _load_all(path: pathlib.Path, keys: list) -> dict[str, Any]:
    """Our results for the mutated file: each key of the original, and inspect_file."""
    result = ours(path)
    calls = dict(result["calls"])
    for key in keys:  # keys of the original that the mutated file may no longer list
        if key not in calls:
            try:
                result["calls"].append((key, ("ok", load_data(path, key=key))))
            except Exception as exc:
                result["calls"].append((key, ("raised", describe_error(exc))))
    try:
        inspect_file(path)
        result["inspect"] = None
    except Exception as exc:
        result["inspect"] = describe_error(exc)
    return result


def _same_value(a: Any, b: Any) -> bool:
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
        and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _bases(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    suffixes = [s for s in supported_suffixes() if s in WRITERS]
    bases = {f"sample{s}": write_sample(s, directory / f"sample{s}") for s in suffixes}
    bases.update(_extra_files(directory))
    return bases


@pytest.mark.slow
def test_mutated_files_give_the_original_the_library_value_or_a_documented_error(tmp_path):
    rng = np.random.default_rng(SEED)
    counts: collections.Counter = collections.Counter()
    problems: list[str] = []
    (tmp_path / "bases").mkdir()
    bases = _bases(tmp_path / "bases")
    assert {p.suffix for p in bases.values()} >= set(WRITERS) & set(supported_suffixes())
    for name, base in bases.items():
        status, original = run_isolated(ours, base, timeout=SECONDS)
        assert status == "ok", (name, status, original)
        values = {k: v[1] for k, v in original["calls"] if v[0] == "ok"}
        data = base.read_bytes()
        for number in range(MUTATIONS):
            target = tmp_path / f"m{number}_{name}"
            target.write_bytes(_mutate(data, rng))
            status, result = run_isolated(_load_all, target, original["keys"], timeout=SECONDS)
            if status != "ok":
                counts[status] += 1
                problems.append(f"{name} mutation {number}: {status} {result}")
                continue
            if result["inspect"] is not None and \
                    "cebra_data.errors.CebraDataError" not in result["inspect"]["mro"]:
                counts["bad error"] += 1
                problems.append(f"{name} mutation {number} inspect_file: {result['inspect']}")
            as_original = [v[0] == "ok" and _same_value(v[1], values.get(
                original["default"] if k is None else k)) for k, v in result["calls"]]
            counts["exact original"] += sum(as_original)
            if all(as_original):
                continue
            ref_status, ref = run_isolated(reference, target, result["keys"] or original["keys"],
                                           timeout=SECONDS)
            if ref_status != "ok":
                ref = {}
            judged = judge(target, result, ref)
            for (outcome, detail), same in zip(judged, as_original):
                if same:
                    continue
                counts[outcome] += 1
                if outcome in ("wrong", "bad error"):
                    problems.append(f"{name} mutation {number} {detail}")
    summary = (f"fuzz: {len(bases)} base files x {MUTATIONS} mutations, "
               f"{sum(counts.values())} calls: "
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(summary)
    assert not problems, summary + "\n" + "\n".join(problems[:30])


# ----------------------------------------------------------------------------- pickles

_PROTO = b"\x80\x02"
_HOSTILE_ARGS: list[tuple] = [
    (),
    (None,),
    (10**12,),
    (-1,),
    ("x", "y"),
    (b"\x00" * 7,),
    ((1, 2), "f8"),
    ([0, 10**6], 2),
    ((10**9, 10**9), "f8", b"\x00" * 8),
    ({"_data": None, "_mask": None},),
]
_HOSTILE_STATES: list[Any] = [
    None,
    {"_mgr": None},
    {"_data": b"\x00", "_mask": b"\x01"},
    (1, (10**9,), None, False, b""),
    (4, {"0.14.1": {"axes": [], "blocks": [{"values": None, "mgr_locs": slice(0, 10**9)}]}}),
    ("x",),
]


def _body(value: Any) -> bytes:
    """The opcodes that push ``value`` (a protocol-2 pickle without PROTO and STOP)."""
    return pickle.dumps(value, protocol=2)[2:-1]


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def crafted_pickles() -> list[tuple[str, bytes]]:
    """Every resolvable global, called through REDUCE, NEWOBJ and BUILD with hostile input."""
    names = sorted(SAFE_GLOBALS | set(_STAND_INS))
    found = []
    for module, name in names:
        target = _global(module, name)
        for number, args in enumerate(_HOSTILE_ARGS):
            found.append((f"{module}.{name} REDUCE args#{number}",
                          _PROTO + target + _body(args) + b"R."))
            found.append((f"{module}.{name} NEWOBJ args#{number}",
                          _PROTO + target + _body(args) + b"\x81."))
        for number, state in enumerate(_HOSTILE_STATES):
            found.append((f"{module}.{name} BUILD state#{number}",
                          _PROTO + target + _body(()) + b"\x81" + _body(state) + b"b."))
    # pandas containers around hostile managers, and a stand-in used as a manager's block
    frame, manager = _global("pandas", "DataFrame"), \
        _global("pandas.core.internals.managers", "BlockManager")
    block = _global("pandas._libs.internals", "_unpickle_block")
    for number, (values, placement) in enumerate([
            (np.zeros((2, 3)), np.array([0, 10**6])), (np.zeros((2, 3)), slice(0, 2)),
            (np.zeros((1, 3)), np.array([-5])), (np.zeros((2, 3)), np.array([0, 0])),
            (np.zeros(3), slice(0, 1)), ("text", slice(0, 1))]):
        blocks = block + _body((values, placement, 2)) + b"R" + b"\x85"  # a 1-tuple of blocks
        axes = _body([pd.Index(["a", "b"]), pd.RangeIndex(3)])
        mgr = manager + b"(" + blocks + axes + b"tR"
        found.append((f"DataFrame over hostile blocks #{number}",
                      _PROTO + frame + b")\x81}" + _body("_mgr")[:] + mgr + b"sb."))
    return found


def _load_pickles(paths: list[pathlib.Path]) -> list[tuple[str, Any]]:
    out = []
    for path in paths:
        try:
            value = load_data(path)
            out.append(("ok", value if isinstance(value, np.ndarray) else type(value).__name__))
        except Exception as exc:
            out.append(("raised", describe_error(exc)))
    return out


def _trusted_values(paths: list[pathlib.Path]) -> list[Any]:
    """What ``load_data(trusted=True)`` gives (plain pickle); run in a child: it may crash."""
    out = []
    for path in paths:
        try:
            out.append(load_data(path, trusted=True))
        except Exception:
            out.append(None)
    return out


@pytest.mark.slow
def test_crafted_pickles_for_every_reconstruction_path(tmp_path):
    pickles = crafted_pickles()
    assert len(pickles) > 500
    counts: collections.Counter = collections.Counter()
    problems: list[str] = []
    for start in range(0, len(pickles), BATCH):
        batch = pickles[start:start + BATCH]
        paths = []
        for offset, (_, data) in enumerate(batch):
            path = tmp_path / f"crafted{start + offset}.pkl"
            path.write_bytes(data)
            paths.append(path)
        status, results = run_isolated(_load_pickles, paths, timeout=SECONDS)
        if status != "ok":  # find the culprit one by one
            results = []
            for path in paths:
                single, result = run_isolated(_load_pickles, [path], timeout=SECONDS)
                results.append(result[0] if single == "ok" else (single, result))
        trusted = None
        for (label, _), path, (outcome, value) in zip(batch, paths, results):
            if outcome == "raised":
                good = "cebra_data.errors.CebraDataError" in value["mro"] \
                    and path.name in value["message"]
                counts["documented error" if good else "bad error"] += 1
                if not good:
                    problems.append(f"{label}: {value['type']}: {value['message'][:200]}\n"
                                    f"{value['where']}")
            elif outcome == "ok":
                if trusted is None:
                    ref_status, trusted = run_isolated(_trusted_values, paths, timeout=SECONDS)
                    trusted = trusted if ref_status == "ok" else [None] * len(paths)
                expected = trusted[paths.index(path)]
                if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and (
                        expected is None or _same_value(value, expected)):
                    counts["exact" if expected is not None else "unverified"] += 1
                else:
                    counts["wrong"] += 1
                    problems.append(f"{label}: returned {value!r:.200} (plain pickle: "
                                    f"{expected!r:.200})")
            else:
                counts[outcome] += 1
                problems.append(f"{label}: {outcome} {value}")
    summary = (f"crafted pickles: {len(pickles)} pickles: "
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(summary)
    assert not problems, summary + "\n" + "\n".join(problems[:30])
