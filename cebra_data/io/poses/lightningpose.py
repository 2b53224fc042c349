"""LightningPose files: DeepLabCut's csv layout under a scorer ``"<model>_tracker"``.

LightningPose (``lightning_pose.utils.predictions``) writes its predictions as a csv
with DeepLabCut's three header rows ``scorer, bodyparts, coords`` (``x``, ``y``,
``likelihood``); the scorer is the model type followed by ``_tracker`` (for example
``heatmap_tracker``). Predictions on labelled frames add a text column ``set`` under its
own "scorer", which is not read. The file is read by the shared table reader
(:mod:`cebra_data.io.poses.table`), so every DeepLabCut rule applies; only the name of
the tracker differs.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Optional

__all__ = ["SCORER_SUFFIX", "is_lightningpose"]

#: How LightningPose's scorer names end.
SCORER_SUFFIX = "_tracker"


def is_lightningpose(scorer: Optional[Hashable], multi_animal: bool) -> bool:
    """Whether a DeepLabCut-style table with this scorer was written by LightningPose.

    Args:
        scorer: The table's (first) scorer.
        multi_animal: Whether the table has an ``individuals`` level (LightningPose's
            files have none).

    Example:
        >>> from cebra_data.io.poses.lightningpose import is_lightningpose
        >>> is_lightningpose("heatmap_tracker", False), is_lightningpose("DLC_resnet50", False)
        (True, False)
    """
    return not multi_animal and str(scorer).strip().endswith(SCORER_SUFFIX)
