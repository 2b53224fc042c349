"""Everything that touches a file: loading data files, DeepLabCut poses, downloads.

Importing this package registers the readers of every supported format (see
:mod:`cebra_data.io.registry`); :func:`load_data` consults that one table. The interface
every reader implements (:class:`Reader`, :class:`Entry`, :class:`Table`) is in
:mod:`cebra_data.io.reader`.
"""

import sys

from cebra_data.io import hdf5, matlab, numpy_files, nwb, pickles, tabular  # noqa: F401  (register readers)
from cebra_data.io.dataset_file import (
    read_dataset_file,
)
from cebra_data.io.download import download_file, file_checksum
from cebra_data.io.inspect import inspect_file
from cebra_data.io.load import load_data
from cebra_data.io.poses import from_movement, load_pose
from cebra_data.io.poses import data as _pose_data
from cebra_data.io.poses import deeplabcut as _deeplabcut
from cebra_data.io.poses import nwb as _nwb_pose
from cebra_data.io.poses import sleap as _sleap
from cebra_data.io.poses import table as _pose_table
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF, load_deeplabcut
from cebra_data.io.reader import Entry, Reader, Table
from cebra_data.io.registry import (
    open_entries,
    readers,
    register_reader,
    supported_suffixes,
)

#: Module paths from before the pose readers moved into :mod:`cebra_data.io.poses`: the old
#: names still import (``from cebra_data.io.deeplabcut import DEFAULT_PCUTOFF`` works).
_MOVED = {
    "deeplabcut": _deeplabcut,
    "nwb_pose": _nwb_pose,
    "pose_data": _pose_data,
    "pose_files": _pose_table,
    "sleap": _sleap,
}
for _old, _module in _MOVED.items():
    sys.modules.setdefault(f"{__name__}.{_old}", _module)
    globals()[_old] = _module

__all__ = [
    "DEFAULT_PCUTOFF",
    "Entry",
    "Reader",
    "Table",
    "download_file",
    "file_checksum",
    "inspect_file",
    "load_data",
    "load_deeplabcut",
    "load_pose",
    "from_movement",
    "open_entries",
    "read_dataset_file",
    "readers",
    "register_reader",
    "supported_suffixes",
]
