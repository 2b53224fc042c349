"""Corpus test: the test data that ships inside installed wheels, loaded key by key.

Files are collected at test time from site-packages (nothing is vendored): scipy's MATLAB
and other io test data, numpy's, h5py's, PyTables', joblib's (its compressed pickles are
copied to ``.jl`` names, the suffix cebra_data reads them by), torch's and, when the
installed wheels ship any, openpyxl's and xlrd's. For every file, ``load_data`` is called
without a key and with every key the file lists; each call must

* return exactly what the underlying library returns for that entry (same shape, dtype
  and values; tables are compared by value), or
* raise one of our documented errors (a :class:`~cebra_data.errors.CebraDataError`) whose
  message names the file and, for entry-level errors, the key.

Loads run in a forked child with a memory cap and a time limit, so a crash or a hang
fails the test instead of ending or blocking the run; so do the reference reads (a
library crashing on its own test file is counted, not blamed on us). The summary line is
printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import collections
import pathlib
import shutil

import _library
import numpy as np
import pytest
from _isolated import run_isolated

from cebra_data.io import supported_suffixes

SITE = pathlib.Path(np.__file__).resolve().parents[1]
MAX_BYTES = 20 << 20
SECONDS_PER_FILE = 60.0
_JOBLIB_COMPRESSED = (".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z")

# (package directory, glob) pairs; only files with a supported suffix are loaded.
SOURCES = [
    ("scipy/io", "**/tests/data/*"),
    ("numpy", "**/tests/data/*"),
    ("h5py", "**/*.h5"),
    ("tables", "**/tests/*"),
    ("joblib", "test/data/*"),
    ("torch", "**/*.pt"),
    ("openpyxl", "**/*.xls*"),
    ("xlrd", "**/*.xls*"),
]


def collect(directory: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """``(label, path)`` of every corpus file; joblib archives are copied into ``directory``."""
    suffixes = set(supported_suffixes())
    found = []
    for package, pattern in SOURCES:
        root = SITE / package
        if not root.is_dir():
            continue
        for path in sorted(root.glob(pattern)):
            if not path.is_file() or path.stat().st_size > MAX_BYTES or path.stat().st_size == 0:
                continue
            label = str(path.relative_to(SITE))
            if path.suffix.lower() in suffixes:
                found.append((label, path))
            elif package == "joblib" and path.suffix.lower() in _JOBLIB_COMPRESSED:
                copy = directory / (path.name + ".jl")
                shutil.copyfile(path, copy)
                found.append((label + " (as .jl)", copy))
    return found


@pytest.mark.slow
def test_third_party_files_load_exactly_or_fail_clearly(tmp_path: pathlib.Path) -> None:
    files = collect(tmp_path)
    assert len(files) >= 100, f"expected the test data of scipy, numpy, h5py, ...; found {files}"
    counts: collections.Counter = collections.Counter()
    problems: list[str] = []
    refused: list[str] = []
    for label, path in files:
        status, ours = run_isolated(_library.ours, path, timeout=SECONDS_PER_FILE)
        if status != "ok":
            counts[status] += 1
            problems.append(f"{label}: {status} {ours}")
            continue
        ref_status, reference = run_isolated(_library.reference, path, ours["keys"],
                                             timeout=SECONDS_PER_FILE)
        if ref_status != "ok":
            reference = {k: f"library failed: {ref_status}" for k in ours["keys"]}
        for outcome, detail in _library.judge(path, ours, reference):
            counts[outcome] += 1
            if outcome in ("wrong", "bad error"):
                problems.append(f"{label} {detail}")
            elif outcome == "refused readable":
                refused.append(f"{label} {detail}")
    calls = sum(v for k, v in counts.items() if k not in ("crash", "hang"))
    summary = (f"corpus: {len(files)} files, {calls} calls: "
               + ", ".join(f"{counts[k]} {k}" for k in (
                   "exact", "documented error", "refused readable", "unverified", "wrong",
                   "bad error",
                   "crash", "hang")))
    print(summary)
    for line in refused:
        print("  refused although the library reads it:", line)
    assert not problems, summary + "\n" + "\n".join(problems[:40])
