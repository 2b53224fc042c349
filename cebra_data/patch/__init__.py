"""Run CEBRA 0.6.1 unchanged on cebra_data (layer L5, the integration with CEBRA).

``cebra_data.patch_cebra()`` before ``import cebra`` (or ``python -m cebra_data.patch
script.py``) makes CEBRA's own code -- ``cebra.CEBRA``, its solvers, models and
datasets -- use cebra_data's data layer; ``cebra_data.unpatch_cebra()`` restores CEBRA
for later imports. See :mod:`cebra_data.patch.hook` for how, and the documentation
page "Run CEBRA on cebra_data" for what changes. Nothing here imports ``cebra``.
"""

from cebra_data.patch.hook import cebra_is_patched, patch_cebra, unpatch_cebra

__all__ = ["cebra_is_patched", "patch_cebra", "unpatch_cebra"]
