"""Datasets, transforms, samplers and wrappers that configs name, and the
input checks users meet. Label conversion lives in
:mod:`sfseg.datasets.convert`, synthetic toy data in
:mod:`sfseg.datasets.toy`."""

from .camvid import CamVidDataset
from .checks import CheckedSegDatasetMixin, DatasetInputError
from .class_uniform import (
    ClassUniformDataset,
    SFCentroidCrop,
    SFInfiniteSampler,
)
from .idd import IDDDataset
from .mapillary19 import Mapillary19Dataset
from .sample_guard import BadSampleError, SFSampleGuard
from .transforms import (
    SFCenterCropPad,
    SFColorJitter,
    SFGaussianBlur,
    SFRandomRescale,
    SFRandomSizeAndCrop,
    SFResizeHeight,
    SFScoreAtInputSize,
)
from .uds import UDSDataset

__all__ = [
    'BadSampleError',
    'CamVidDataset',
    'CheckedSegDatasetMixin',
    'ClassUniformDataset',
    'DatasetInputError',
    'IDDDataset',
    'Mapillary19Dataset',
    'SFCenterCropPad',
    'SFCentroidCrop',
    'SFColorJitter',
    'SFGaussianBlur',
    'SFInfiniteSampler',
    'SFRandomRescale',
    'SFRandomSizeAndCrop',
    'SFResizeHeight',
    'SFSampleGuard',
    'SFScoreAtInputSize',
    'UDSDataset',
]
