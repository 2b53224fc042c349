"""Seeded fuzzing: truncated and mutated files of every suffix raise only documented errors.

Each base file is cut and/or has a few bytes overwritten; ``load_data`` and ``inspect_file``
must either return (a numeric array / a plain structure) or raise a
:class:`~cebra_data.errors.CebraDataError`. A watchdog turns a hang into a failure.
Seed 20240601, 40 mutations per base file (23 base files), three calls per mutation.
"""

from __future__ import annotations

import faulthandler
import pathlib
import time
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.io

from _io_files import SAMPLE_X, WRITERS, write_mat73, write_sample
from cebra_data.errors import CebraDataError
from cebra_data.io import inspect_file, load_data, load_deeplabcut
from conftest import dlc_frame

SEED = 20240601
MUTATIONS = 40
PER_CALL_SECONDS = 5.0


def _extra_files(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    """Layouts the plain samples do not reach: pandas HDF, DLC csv, compressed variants."""
    values = np.random.default_rng(SEED).uniform(0, 1, (20, 6))
    pose = dlc_frame(values, ["nose", "tail"])
    files = {
        "dlc_table.h5": lambda p: pose.to_hdf(p, key="df_with_missing", format="table"),
        "dlc_fixed.h5": lambda p: pose.to_hdf(p, key="df_with_missing", format="fixed"),
        "dlc.csv": lambda p: pose.to_csv(p),
        "zlib.jl": lambda p: joblib.dump({"x": SAMPLE_X}, p, compress=3),
        "compressed.mat": lambda p: scipy.io.savemat(
            p, {"x": SAMPLE_X, "c": np.array([[1.0, "a"]], dtype=object), "s": {"f": SAMPLE_X}},
            do_compression=True),
        "v73.mat": lambda p: write_mat73(p, {"x": SAMPLE_X}, struct={"f": SAMPLE_X}),
        "frame.pkl": lambda p: pd.DataFrame(SAMPLE_X).to_pickle(p),
    }
    paths = {}
    for name, write in files.items():
        path = directory / name
        write(path)
        paths[name] = path
    return paths


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    mutated = bytearray(data)
    mode = rng.integers(3)
    if mode in (0, 2):
        mutated = mutated[: rng.integers(1, len(mutated))]
    if mode in (1, 2):
        for _ in range(rng.integers(1, 9)):
            mutated[rng.integers(len(mutated))] = rng.integers(256)
    return bytes(mutated)


@pytest.mark.slow
def test_mutated_files_raise_only_documented_errors(tmp_path: pathlib.Path) -> None:
    sources = {f"sample{s}": write_sample(s, tmp_path / f"sample{s}") for s in WRITERS}
    sources.update(_extra_files(tmp_path))
    rng = np.random.default_rng(SEED)
    outcomes: dict[str, int] = {}
    faulthandler.dump_traceback_later(240, exit=True)  # a hang fails the run, not blocks it
    try:
        for name, source in sources.items():
            original = source.read_bytes()
            target = tmp_path / f"mutated_{name}"
            for _ in range(MUTATIONS):
                target.write_bytes(_mutate(original, rng))
                for call in (load_data, inspect_file, load_deeplabcut):
                    start = time.perf_counter()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            result = call(target)
                    except CebraDataError as exc:
                        outcome = type(exc).__name__
                    else:
                        outcome = "ok"
                        if call is not inspect_file:
                            assert isinstance(result, np.ndarray) and result.dtype.kind in "biufc"
                    elapsed = time.perf_counter() - start
                    assert elapsed < PER_CALL_SECONDS, f"{call.__name__}({name}) took {elapsed:.1f} s"
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert outcomes.get("CorruptFileError", 0) > 0 and outcomes.get("ok", 0) > 0
