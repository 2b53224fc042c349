"""Everything that touches a file: loading data files, DeepLabCut poses, downloads.

Importing this package registers the readers of every supported format (see
:mod:`cebra_data.io.registry`); :func:`load_data` consults that one table.
"""

from cebra_data.io import hdf5, matlab, numpy_files, pickles, tabular  # noqa: F401  (register readers)
from cebra_data.io.dataset_file import load_dataset
from cebra_data.io.deeplabcut import load_deeplabcut
from cebra_data.io.download import download_file, file_checksum
from cebra_data.io.inspect import inspect_file
from cebra_data.io.load import load_data
from cebra_data.io.registry import Reader, readers, register_reader, supported_suffixes

__all__ = [
    "Reader",
    "download_file",
    "file_checksum",
    "inspect_file",
    "load_data",
    "load_dataset",
    "load_deeplabcut",
    "readers",
    "register_reader",
    "supported_suffixes",
]
