"""Python entry points for inference (not imported by ``import sfseg``,
so that importing the models does not pull in mmseg's inferencer)."""

from .inference import SFSegInferencer, dataset_meta_of, init_model
from .input_images import (
    MIN_SIDE,
    InputImageError,
    check_min_size,
    fit_max_size,
    read_image,
)
from .precision import PRECISIONS, autocast_for, resolve_precision

__all__ = [
    'PRECISIONS',
    'autocast_for',
    'resolve_precision',
    'MIN_SIDE',
    'InputImageError',
    'SFSegInferencer',
    'check_min_size',
    'dataset_meta_of',
    'fit_max_size',
    'init_model',
    'read_image',
]
