"""Preparing datasets for training: splits, normalisation and neuron quality.

This subpackage sits above the datasets and loaders: it takes datasets and
returns new ones, never changing its input.

* :mod:`cebra_data.preprocessing.splits`: :func:`split_dataset` cuts a
  dataset into training and held-out parts that share no window
  (:class:`DatasetSplit`).
* :mod:`cebra_data.preprocessing.normalization`: a :class:`Normalizer` fitted
  on the training part rescales every part; fitting on a held-out part raises
  :class:`~cebra_data.errors.HeldOutFitError`.
* :mod:`cebra_data.preprocessing.quality`: per-neuron signal-to-noise ratio
  and split-half reliability from repeated trials.

Every name here is also importable from ``cebra_data`` itself.

Example:
    >>> import numpy as np, cebra_data
    >>> from cebra_data.preprocessing import Normalizer, split_dataset
    >>> ds = cebra_data.TensorDataset(np.arange(200.0).reshape(100, 2), continuous=np.arange(100.0),
    ...                               offset=(1, 1))
    >>> train, test = split_dataset(ds, fractions=(0.5, 0.5))
    >>> len(train), len(test), test.held_out
    (49, 49, True)
    >>> train_z = Normalizer().fit_transform(train)
    >>> train_z.normalization[0]["fitted_on"]
    'train'
"""

from cebra_data.preprocessing import quality
from cebra_data.preprocessing.normalization import HeldOutFitError, Normalizer
from cebra_data.preprocessing.splits import DatasetSplit, split_dataset

__all__ = ["split_dataset", "DatasetSplit", "Normalizer", "HeldOutFitError", "quality"]
