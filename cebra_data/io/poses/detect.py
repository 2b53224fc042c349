"""Which tracker wrote a pose file, told from its content; the names ``source=`` accepts.

A pose file is recognised by what it holds, never by its suffix (a DeepLabCut ``.h5``
renamed ``.slp`` is still a DeepLabCut file):

* an HDF5 file (its signature at byte 0, 512, 1024 or 2048) is NWB when its root has
  ``nwb_version`` or ``neurodata_type == "NWBFile"``; a SLEAP analysis file when it has
  the datasets ``tracks`` and ``node_names``; a SLEAP labels file (``.slp``) when it has
  ``metadata``, ``frames`` and ``instances``; otherwise a DeepLabCut file, confirmed when
  its pandas table is read. An HDF5 file that h5py cannot open is truncated or corrupted
  (:class:`~cebra_data.errors.CorruptFileError`), not "no pose file";
* a text file is DeepLabCut's (or LightningPose's, see
  :mod:`~cebra_data.io.poses.lightningpose`) when its first cells read ``scorer``,
  [``individuals``,] ``bodyparts``, ``coords``; Anipose's when its header has
  ``<kp>_x, <kp>_y, <kp>_z`` columns. The delimiter (``,``, ``;`` or tab) is found as
  the csv reader of :func:`~cebra_data.io.load_data` finds it. A file whose first cell is
  ``scorer`` but whose header is damaged (cut short, a NUL byte) is a damaged DeepLabCut
  file: its reader refuses it with the error :func:`~cebra_data.io.load_deeplabcut`
  gives (``CorruptFileError``, ``EmptyFileError``), not "no pose file".

``source=`` names are matched without regard to case, spaces, ``-`` and ``_``, so
movement's spellings (``"DeepLabCut"``, ``"SLEAP"``, ``"LightningPose"``,
``"Anipose"``, ``"NWB"``) are accepted as well as ours.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any, Optional, Union

import h5py

from cebra_data.errors import UnknownChoiceError
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.poses.anipose import anipose_keypoints
from cebra_data.io.poses.lightningpose import is_lightningpose
from cebra_data.io.poses.table import deeplabcut_csv_header
from cebra_data.io.reader import HEAD_SIZE, csv_head
from cebra_data.io.registry import check_file, translated_errors

__all__ = [
    "POSE_SOURCES",
    "TRACKER_NAMES",
    "check_source",
    "detect_pose_source",
    "same_layout",
    "text_head_rows",
]

#: The values of ``source=``: the trackers (and file kinds) ``load_pose`` reads.
POSE_SOURCES = ("deeplabcut", "lightningpose", "anipose", "sleap", "sleap-analysis", "nwb")

#: Each source as messages name it.
TRACKER_NAMES = {
    "deeplabcut": "DeepLabCut",
    "lightningpose": "LightningPose",
    "anipose": "Anipose",
    "sleap": "SLEAP labels (.slp)",
    "sleap-analysis": "SLEAP analysis (.h5)",
    "nwb": "NWB (ndx-pose)",
}

#: Sources whose files share one layout (DeepLabCut's table): either reads the other's.
_SAME_LAYOUT = {"deeplabcut": "table", "lightningpose": "table"}

_SEPARATORS = re.compile(r"[\s_\-.]+")


def check_source(source: Any) -> Optional[str]:
    """``source`` as one of :data:`POSE_SOURCES` (``None`` stays ``None``).

    Names are compared without regard to case, spaces, ``-``, ``_`` and ``.``, so
    ``"SLEAP"``, ``"DeepLabCut"``, ``"Lightning Pose"`` and ``"sleap_analysis"`` are
    accepted.

    Raises:
        TypeError: ``source`` is not a string.
        UnknownChoiceError: no tracker has this name (the message lists them).

    Example:
        >>> from cebra_data.io.poses.detect import check_source
        >>> check_source("DeepLabCut"), check_source("SLEAP"), check_source("sleap_analysis")
        ('deeplabcut', 'sleap', 'sleap-analysis')
    """
    if source is None:
        return None
    if not isinstance(source, str):
        raise TypeError(
            f"source should be the name of a tracker (one of {', '.join(POSE_SOURCES)}) or "
            f"None, but got source={source!r} of type {type(source).__name__}."
        )
    key = _SEPARATORS.sub("", source.lower())
    for name in POSE_SOURCES:
        if key == name.replace("-", ""):
            return name
    raise UnknownChoiceError("pose source", source, POSE_SOURCES)


def same_layout(a: str, b: str) -> bool:
    """Whether files of sources ``a`` and ``b`` have one layout (e.g. DeepLabCut, LightningPose)."""
    return a == b or (a in _SAME_LAYOUT and _SAME_LAYOUT.get(a) == _SAME_LAYOUT.get(b))


def text_head_rows(path: pathlib.Path, n_rows: int = 4) -> list[list[str]]:
    """The first rows of a text file split into cells (``[]`` for a binary file).

    The delimiter (``,``, ``;`` or tab) is found by the rule of the csv reader of
    :func:`~cebra_data.io.load_data` (:func:`~cebra_data.io.reader.csv_head`), so a file
    is recognised exactly when that reader would read its header.
    """
    head = csv_head(path, n_rows)
    return [] if head is None else head[0]


def is_hdf5(path: pathlib.Path) -> bool:
    """Whether ``path`` starts with (or has after a user block) the HDF5 signature."""
    with open(path, "rb") as handle:
        return hdf5_signature_offset(handle.read(HEAD_SIZE)) >= 0


def detect_pose_source(path: Union[str, pathlib.Path]) -> Optional[str]:
    """The tracker that wrote a pose file, from its content; ``None`` if it is none of them.

    Only cheap checks are made (the first bytes, HDF5 structure, the header rows); a
    DeepLabCut ``.h5`` file is any other HDF5 file, confirmed when it is read.

    Raises:
        DataFileNotFoundError, EmptyFileError: no such file, or it is empty.
        CorruptFileError: an HDF5 file (by its signature) that cannot be opened.

    Example:
        >>> import pandas as pd
        >>> from cebra_data.io.poses import detect_pose_source
        >>> pd.DataFrame({"nose_x": [1.0], "nose_y": [2.0], "nose_z": [3.0],
        ...               "nose_score": [0.9], "fnum": [0]}).to_csv(tmp_path / "a.csv", index=False)
        >>> detect_pose_source(tmp_path / "a.csv")
        'anipose'
    """
    path = check_file(path)
    if is_hdf5(path):
        with translated_errors(path, "HDF5"), h5py.File(path, "r") as file:
            attrs = file.attrs
            if "nwb_version" in attrs or _text(attrs.get("neurodata_type")) == "NWBFile":
                return "nwb"
            if "tracks" in file and "node_names" in file:
                return "sleap-analysis"
            if "metadata" in file and "frames" in file and "instances" in file:
                return "sleap"
        return "deeplabcut"
    rows = text_head_rows(path)
    if not rows:
        return "deeplabcut" if _starts_like_deeplabcut(path) else None
    layout = deeplabcut_csv_header(rows)
    if layout is not None:
        scorer = rows[0][layout[1]] if len(rows[0]) > layout[1] else ""
        return "lightningpose" if is_lightningpose(scorer, layout[0] == 4) else "deeplabcut"
    if rows[0] and rows[0][0].strip().lower() == "scorer":
        return "deeplabcut"  # a damaged DeepLabCut table: its reader says what is wrong
    if anipose_keypoints([c.strip() for c in rows[0]]):
        return "anipose"
    return None


def _starts_like_deeplabcut(path: pathlib.Path) -> bool:
    """Whether a file that is not text (a NUL byte) still starts with DeepLabCut's ``scorer``."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(b"scorer")


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
