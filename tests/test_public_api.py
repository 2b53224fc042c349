"""The compatibility contract: every public name of cebra.data is exported."""

import cebra_data
import cebra_data.distributions

CEBRA_DATA_NAMES = [
    "Offset", "Batch", "BatchIndex", "Dataset", "Loader", "SingleSessionDataset",
    "MultiSessionDataset", "TensorDataset", "DatasetCollection", "UnifiedDataset",
    "DiscreteDataLoader", "ContinuousDataLoader", "MixedDataLoader", "HybridDataLoader",
    "FullDataLoader", "MultiSessionLoader", "ContinuousMultiSessionDataLoader",
    "DiscreteMultiSessionDataLoader", "MixedMultiSessionDataLoader", "UnifiedLoader",
    "DatasetxCEBRA", "SupervisedMultiObjectiveLoader", "ContrastiveMultiObjectiveLoader",
    "MaskedMixin", "RandomNeuronMask", "RandomTimestepMask", "NeuronBlockMask",
    "TimeBlockMask", "HasDevice", "load_data", "load_deeplabcut",
]

CEBRA_DISTRIBUTION_NAMES = [
    "Prior", "TimeContrastive", "TimedeltaDistribution", "DeltaNormalDistribution",
    "Discrete", "DiscreteUniform", "DiscreteEmpirical", "MixedTimeDeltaDistribution",
    "ContinuousIndex", "ConditionalIndex", "DistanceMatrix", "MultisessionSampler",
    "DiscreteMultisessionSampler", "UnifiedSampler", "PriorDistribution",
    "ConditionalDistribution", "JointDistribution",
]


def test_cebra_data_names_are_exported():
    missing = [name for name in CEBRA_DATA_NAMES if not hasattr(cebra_data, name)]
    assert missing == []
    assert set(CEBRA_DATA_NAMES) <= set(cebra_data.__all__)


def test_all_lists_only_existing_names():
    assert [name for name in cebra_data.__all__ if not hasattr(cebra_data, name)] == []
    dist = cebra_data.distributions
    assert [name for name in dist.__all__ if not hasattr(dist, name)] == []


def test_distribution_names_are_exported():
    missing = [n for n in CEBRA_DISTRIBUTION_NAMES if not hasattr(cebra_data.distributions, n)]
    assert missing == []
