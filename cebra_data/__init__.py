"""cebra_data: a data layer for contrastive embedding of neural recordings.

The public API mirrors ``cebra.data``: code written for it runs on
``cebra_data`` by changing its imports (see ``docs/differences.rst`` for the
places where we deliberately behave differently).
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _installed_version

try:
    #: The installed distribution's version (``setup.cfg`` is its one source).
    __version__ = _installed_version("cebra_data")
except _PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    # the names of cebra.data
    "Offset", "Batch", "BatchIndex", "HasDevice", "Dataset", "Loader",
    "SingleSessionDataset", "MultiSessionDataset", "TensorDataset", "DatasetCollection",
    "UnifiedDataset", "DatasetxCEBRA",
    "DiscreteDataLoader", "ContinuousDataLoader", "MixedDataLoader", "HybridDataLoader",
    "FullDataLoader", "MultiSessionLoader", "ContinuousMultiSessionDataLoader",
    "DiscreteMultiSessionDataLoader", "MixedMultiSessionDataLoader", "UnifiedLoader",
    "MultiObjectiveLoader", "SupervisedMultiObjectiveLoader", "ContrastiveMultiObjectiveLoader",
    "Mask", "MaskedMixin", "RandomNeuronMask", "RandomTimestepMask", "NeuronBlockMask",
    "TimeBlockMask", "Prior",
    "load_data", "load_deeplabcut", "load_pose", "from_movement",
    "OrthogonalProcrustesAlignment", "ensemble_embeddings", "get_loader_options",
    # cebra_data's additions: trials, splits, normalisation, summaries, estimators
    "split_dataset", "DatasetSplit", "Normalizer", "HeldOutFitError", "describe",
    "DatasetSummary", "repeat_frame_labels", "frame_in_trial", "quality",
    "SklearnDataset", "make_loader",
    "align",  # behaviour on the neural clock
    "HDF5Dataset",  # recordings larger than memory
    "patch_cebra", "unpatch_cebra", "cebra_is_patched",  # CEBRA's own code on cebra_data
    "rechunk",  # HDF5/NWB files rewritten to sample at memory speed
]

# core: datatypes, bases, datasets
from cebra_data.base import Dataset, HasDevice, Loader
from cebra_data.datasets import DatasetCollection, TensorDataset, UnifiedDataset
from cebra_data.datatypes import Batch, BatchIndex, Offset
from cebra_data.file_datasets import HDF5Dataset
from cebra_data.distributions.continuous import Prior

# CEBRA's helpers for comparing and combining embeddings
from cebra_data.helper import OrthogonalProcrustesAlignment, ensemble_embeddings, get_loader_options

# io
from cebra_data.io import from_movement, load_data, load_deeplabcut, load_pose
from cebra_data.io.rechunk import rechunk

# masking
from cebra_data.masking import (
    Mask,
    MaskedMixin,
    NeuronBlockMask,
    RandomNeuronMask,
    RandomTimestepMask,
    TimeBlockMask,
)

# multi-session and multi-objective loaders
from cebra_data.multi_session import (
    ContinuousMultiSessionDataLoader,
    DiscreteMultiSessionDataLoader,
    MixedMultiSessionDataLoader,
    MultiSessionDataset,
    MultiSessionLoader,
    UnifiedLoader,
)
from cebra_data.multiobjective import (
    ContrastiveMultiObjectiveLoader,
    DatasetxCEBRA,
    MultiObjectiveLoader,
    SupervisedMultiObjectiveLoader,
)

# trials, splits, normalisation, summaries
from cebra_data.preprocessing import quality
from cebra_data.preprocessing.normalization import HeldOutFitError, Normalizer
from cebra_data.preprocessing.splits import DatasetSplit, split_dataset

# single-session loaders
from cebra_data.single_session import (
    ContinuousDataLoader,
    DiscreteDataLoader,
    FullDataLoader,
    HybridDataLoader,
    MixedDataLoader,
    SingleSessionDataset,
)

# estimators
from cebra_data.sklearn import SklearnDataset, make_loader
from cebra_data.summary import DatasetSummary, describe
from cebra_data.trials import frame_in_trial, repeat_frame_labels
from cebra_data.align import align
from cebra_data.patch import cebra_is_patched, patch_cebra, unpatch_cebra
