"""Class-uniform sampling (official ``datasets/uniform.py``), mmseg style.

``ClassUniformDataset`` wraps any mmseg dataset: a ``uniform_ratio`` share
of the samples (official: 50 %) picks a class uniformly among the classes
that have centroids, then one of that class's centroids, and hands its
``(x, y)`` to the pipeline as ``results['centroid']``; the rest are plain
random images. ``SFCentroidCrop`` (a drop-in for mmseg's ``RandomCrop``)
then places the crop so that the (rescaled) centroid lies inside it.

Centroids follow the official extraction: labels are cut into
non-overlapping full ``tile`` x ``tile`` tiles (remainders ignored), and for
every class present in a tile its centre of mass (truncated to int) is
recorded. They are computed once and cached as JSON. Coarse boosting
(official ``--coarse_boost_classes``) appends the centroids of a second,
coarsely labelled set for a few rare classes.
"""

from .cache import read_cache, write_cache
from .centroids import compute_centroids, label_centroids
from .crop import SFCentroidCrop
from .dataset import ClassUniformDataset
from .sampler import SFInfiniteSampler

__all__ = [
    'ClassUniformDataset',
    'SFCentroidCrop',
    'SFInfiniteSampler',
    'compute_centroids',
    'label_centroids',
    'read_cache',
    'write_cache',
]
