"""Pipeline transforms of the official SFNet data protocols: geometric
(rescale by the image's own size, resize to a height, centre crop / pad,
scoring at the input size), photometric (colour jitter, Gaussian blur)
and the official random size-and-crop."""

from .geometric import (
    SFCenterCropPad,
    SFRandomRescale,
    SFResizeHeight,
    SFScoreAtInputSize,
)
from .photometric import SFColorJitter, SFGaussianBlur, gaussian_kernel
from .size_and_crop import SFRandomSizeAndCrop, resize_window

__all__ = [
    'SFCenterCropPad',
    'SFColorJitter',
    'SFGaussianBlur',
    'SFRandomRescale',
    'SFRandomSizeAndCrop',
    'SFResizeHeight',
    'SFScoreAtInputSize',
    'gaussian_kernel',
    'resize_window',
]
