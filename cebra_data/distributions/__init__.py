"""Sampling maths: priors, conditionals and exact nearest-neighbour indices.

Distributions see only labels -- a continuous index ``(N, d)``, a discrete
index ``(N,)``, a ``valid`` mask and ``trial_ids`` -- never the signal. A prior
draws time indices (:meth:`~base.PriorDistribution.sample_prior`), a
conditional draws one positive per reference
(:meth:`~base.ConditionalDistribution.sample_conditional`). Every draw uses
the object's own ``torch.Generator``, made from ``seed`` by
:func:`~base.as_generator`; no global random state is touched.

Modules: :mod:`.base` (interfaces and seeding), :mod:`.discrete`,
:mod:`.continuous`, :mod:`.mixed`, :mod:`.multisession`, :mod:`.index` (exact
search engines) and :mod:`.registry` (the conditional and prior name tables).
"""

from cebra_data.datatypes import Offset
from cebra_data.distributions.base import (
    ConditionalDistribution,
    HasGenerator,
    Index,
    JointDistribution,
    PriorDistribution,
    as_generator,
    derive_seed,
)
from cebra_data.distributions.continuous import (
    CEBRADistribution,
    DeltaNormalDistribution,
    DirectTimedeltaDistribution,
    Prior,
    TimeContrastive,
    TimedeltaDistribution,
)
from cebra_data.distributions.discrete import (
    Discrete,
    DiscreteEmpirical,
    DiscreteUniform,
)
from cebra_data.distributions.index import (
    ConditionalIndex,
    ContinuousIndex,
    DistanceMatrix,
    MultiSessionIndex,
    OffsetDistanceMatrix,
)
from cebra_data.distributions.mixed import (
    ConfigurableDistribution,
    Mixed,
    MixedTimeDeltaDistribution,
)
from cebra_data.distributions.multisession import (
    DiscreteMultisessionSampler,
    MixedMultisessionSampler,
    MultisessionSampler,
    UnifiedSampler,
)
from cebra_data.distributions.registry import CONDITIONALS, PRIORS

__all__ = [
    # interfaces and seeding
    "Index",
    "PriorDistribution",
    "ConditionalDistribution",
    "JointDistribution",
    "HasGenerator",
    "as_generator",
    "derive_seed",
    # the model window (re-exported as in cebra.distributions)
    "Offset",
    # distributions
    "Prior",
    "TimeContrastive",
    "TimedeltaDistribution",
    "DeltaNormalDistribution",
    "DirectTimedeltaDistribution",
    "CEBRADistribution",
    "Discrete",
    "DiscreteUniform",
    "DiscreteEmpirical",
    "MixedTimeDeltaDistribution",
    "Mixed",
    "ConfigurableDistribution",
    # multi-session samplers (cebra_data.distributions.multisession)
    "MultisessionSampler",
    "DiscreteMultisessionSampler",
    "MixedMultisessionSampler",
    "UnifiedSampler",
    # nearest-neighbour search
    "ContinuousIndex",
    "ConditionalIndex",
    "DistanceMatrix",
    "OffsetDistanceMatrix",
    "MultiSessionIndex",
    # name tables
    "CONDITIONALS",
    "PRIORS",
]
