"""Real-file pass: every pose file of the trackers' repositories through our readers.

Not a benchmark of speed: a check of every pose (and pose-like) file that the public
repositories of DeepLabCut, SLEAP, sleap-io, movement, LightningPose, Anipose, ndx-pose
and pynwb ship, against the reference readers (movement, which reads DeepLabCut,
LightningPose, Anipose, SLEAP and NWB files with the trackers' own libraries, and
sleap-io for ``.slp`` files). Nothing is copied into this repository: the files are
extracted from git snapshots into a temporary folder.

Two steps, because movement may live in another environment than cebra_data::

    # 1. the reference, in an environment with movement (no cebra_data needed)
    python benchmarks/pose_corpus.py reference --out /tmp/ref /tmp/corpus
    # 2. ours, with cebra_data, comparing with the reference
    python benchmarks/pose_corpus.py compare --reference /tmp/ref /tmp/corpus

``python benchmarks/pose_corpus.py extract --out /tmp/corpus GIT_DIR...`` first copies the
pose files of git snapshots (``git show``) into ``/tmp/corpus``. ``all`` runs the three
steps, the reference with ``--reference-python``.

For every file the calls are ``read_pose`` (compared with the reference: same frames,
individuals, keypoints and positions, NaN where missing, and the same confidence where
both have one), ``load_pose``, ``load_data`` and ``inspect_file``, plus
``load_deeplabcut`` on DeepLabCut-style files. A call is *equal* (matches the reference),
*refused* (a documented :class:`~cebra_data.errors.CebraDataError` naming the file, where
the reference also fails or holds no poses, or for a reason the message gives), *wrong*
(values differ from the reference) or a *bad error* (any other exception, or a message
that does not name the file). The summary line gives the counts.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from typing import Any

import numpy as np

#: Suffixes of the files taken from the snapshots.
SUFFIXES = (".h5", ".hdf5", ".csv", ".slp", ".nwb", ".mat")
#: Larger files are skipped (snapshots lack files of 4 MiB or more anyway).
MAX_BYTES = 4 << 20


# ----------------------------------------------------------------------------- extract


def extract(out: pathlib.Path, git_dirs: list[str]) -> list[pathlib.Path]:
    """Copy the pose-like files of each snapshot's HEAD into ``out/<repo>/<path>``."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for git_dir in git_dirs:
        repo = pathlib.Path(git_dir).parent.name
        listing = subprocess.run(["git", "-C", git_dir, "ls-tree", "-r", "-l", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout
        for line in listing.splitlines():
            meta, name = line.split("\t", 1)
            size = meta.split()[3]
            if not name.lower().endswith(SUFFIXES) or not size.isdigit() \
                    or not 0 < int(size) < MAX_BYTES:
                continue
            target = out / repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = subprocess.run(["git", "-C", git_dir, "show", f"HEAD:{name}"],
                                  capture_output=True, check=True).stdout
            if data.startswith(b"version https://git-lfs"):
                continue  # an LFS pointer, not the file
            target.write_bytes(data)
            files.append(target)
    return files


def corpus(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


# ----------------------------------------------------------------------------- reference


_SOURCES = {".slp": ["SLEAP"], ".h5": ["SLEAP", "DeepLabCut"], ".hdf5": ["DeepLabCut"],
            ".csv": ["DeepLabCut", "LightningPose", "Anipose"], ".nwb": ["NWB"], ".mat": []}


def reference(root: pathlib.Path, out: pathlib.Path) -> None:
    """movement's reading of every file: ``out/<n>.npz`` and ``out/index.json``."""
    from movement.io import load_poses  # noqa: PLC0415  (only in the reference environment)

    out.mkdir(parents=True, exist_ok=True)
    index = {}
    for n, path in enumerate(corpus(root)):
        key = str(path.relative_to(root))
        attempts = []
        for source in _SOURCES.get(path.suffix.lower(), []):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = load_poses.from_file(path, source_software=source)
                position = ds["position"].transpose("time", "individuals", "keypoints", "space")
                confidence = ds["confidence"].transpose("time", "individuals", "keypoints")
                np.savez(out / f"{n}.npz", position=position.values.astype(np.float64),
                         confidence=confidence.values.astype(np.float64))
                index[key] = {"source": source, "file": f"{n}.npz",
                              "individuals": [str(v) for v in ds["individuals"].values],
                              "keypoints": [str(v) for v in ds["keypoints"].values]}
                break
            except Exception as exc:  # noqa: BLE001  (the reference's failure is recorded)
                attempts.append(f"{source}: {type(exc).__name__}: {exc}"[:300])
        else:
            index[key] = {"error": "; ".join(attempts) or "no movement reader for this suffix"}
    (out / "index.json").write_text(json.dumps(index, indent=1))


# ----------------------------------------------------------------------------- compare


def _documented(exc: BaseException, path: pathlib.Path) -> bool:
    from cebra_data.errors import CebraDataError

    return isinstance(exc, CebraDataError) and path.name in str(exc)


def _same(pose: Any, ref: dict[str, Any], arrays: Any) -> tuple[bool, str]:
    """Our raw poses against movement's: frames, names, positions, confidences."""
    position, confidence = arrays["position"], arrays["confidence"]
    ours = pose.positions[..., :position.shape[-1]]
    if ours.shape != position.shape:
        return False, f"shape {ours.shape} vs movement {position.shape}"
    if pose.keypoints != ref["keypoints"]:
        return False, f"keypoints {pose.keypoints} vs movement {ref['keypoints']}"
    if not np.array_equal(ours, position, equal_nan=True):
        # movement keeps positions as float32; a float64 file is compared at that precision
        rounded = ours.astype(np.float32).astype(np.float64)
        if not np.array_equal(rounded, position, equal_nan=True):
            differ = ~((rounded == position) | (np.isnan(rounded) & np.isnan(position)))
            return False, f"{int(differ.sum())} positions differ"
    if pose.confidence is not None:
        both = np.isfinite(pose.confidence) & np.isfinite(confidence)
        if not np.allclose(pose.confidence[both], confidence[both], rtol=0, atol=1e-6):
            return False, "confidences differ"
    return True, ""


def compare(root: pathlib.Path, ref_dir: pathlib.Path, verbose: bool) -> dict[str, int]:
    import cebra_data
    from cebra_data.io import inspect_file
    from cebra_data.io.poses import read_pose

    index = json.loads((ref_dir / "index.json").read_text())
    counts = {"files": 0, "calls": 0, "equal": 0, "refused": 0, "wrong": 0, "bad error": 0}
    lines = []

    def record(path: pathlib.Path, call: str, outcome: str, detail: str) -> None:
        counts["calls"] += 1
        counts[outcome] += 1
        if verbose or outcome in ("wrong", "bad error"):
            lines.append(f"{outcome:9s} {call:16s} {path.relative_to(root)}: {detail[:240]}")

    for path in corpus(root):
        counts["files"] += 1
        ref = index.get(str(path.relative_to(root)), {"error": "not in the reference"})
        calls = {
            "load_pose": lambda: cebra_data.load_pose(path),
            "load_data": lambda: cebra_data.load_data(path),
            "inspect_file": lambda: inspect_file(path),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pose = read_pose(path)
            except Exception as exc:  # noqa: BLE001
                if not _documented(exc, path):
                    record(path, "read_pose", "bad error",
                           f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
                elif "error" not in ref:
                    record(path, "read_pose", "refused",
                           f"{type(exc).__name__}: {exc} (movement reads it as {ref['source']})")
                else:
                    record(path, "read_pose", "refused", f"{type(exc).__name__}: {exc}")
            else:
                if "error" in ref:
                    record(path, "read_pose", "equal",
                           f"read as {pose.source}; movement fails: {ref['error'][:120]}")
                else:
                    same, why = _same(pose, ref, np.load(ref_dir / ref["file"]))
                    record(path, "read_pose", "equal" if same else "wrong", why or pose.source)
                if pose.source in ("deeplabcut", "lightningpose"):
                    calls["load_deeplabcut"] = lambda: cebra_data.load_deeplabcut(path)
            for call, run in calls.items():
                try:
                    run()
                except Exception as exc:  # noqa: BLE001
                    outcome = "refused" if _documented(exc, path) else "bad error"
                    record(path, call, outcome, f"{type(exc).__name__}: {exc}")
                else:
                    record(path, call, "equal", "returned")
    print("\n".join(lines))
    print("pose corpus: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("extract")
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("git_dirs", nargs="+")
    p = sub.add_parser("reference")
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("root", type=pathlib.Path)
    p = sub.add_parser("compare")
    p.add_argument("--reference", type=pathlib.Path, required=True)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("root", type=pathlib.Path)
    p = sub.add_parser("all")
    p.add_argument("--reference-python", required=True)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("git_dirs", nargs="+")
    args = parser.parse_args(argv)
    if args.step == "extract":
        print(len(extract(args.out, args.git_dirs)), "files")
    elif args.step == "reference":
        reference(args.root, args.out)
    elif args.step == "compare":
        compare(args.root, args.reference, args.verbose)
    else:
        work = pathlib.Path(tempfile.mkdtemp(prefix="pose_corpus_"))
        try:
            extract(work / "files", args.git_dirs)
            subprocess.run([args.reference_python, __file__, "reference", "--out",
                            str(work / "ref"), str(work / "files")], check=True)
            compare(work / "files", work / "ref", args.verbose)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
