"""Pose files of every supported tracker: DeepLabCut, LightningPose, Anipose, SLEAP and NWB.

One module per tracker, beside what they share:

* :mod:`~cebra_data.io.poses.load`: ``load_pose``, ``read_pose``, ``from_movement``;
* :mod:`~cebra_data.io.poses.data`: :class:`~cebra_data.io.poses.data.PoseData`, the one
  layout every reader returns, and the gap rule;
* :mod:`~cebra_data.io.poses.table`: the DeepLabCut-style table (``.h5`` and ``.csv``);
* :mod:`~cebra_data.io.poses.deeplabcut`: CEBRA's ``load_deeplabcut``;
* :mod:`~cebra_data.io.poses.sleap` (``.slp`` and analysis ``.h5``) and
  :mod:`~cebra_data.io.poses.nwb` (ndx-pose).
"""

from cebra_data.io.poses.load import (
    POSE_SOURCES,
    detect_pose_source,
    from_movement,
    load_pose,
    pose_summary,
    read_pose,
)

__all__ = [
    "POSE_SOURCES",
    "detect_pose_source",
    "from_movement",
    "load_pose",
    "pose_summary",
    "read_pose",
]
