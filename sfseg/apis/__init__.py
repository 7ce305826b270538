"""Python entry points for inference (not imported by ``import sfseg``,
so that importing the models does not pull in mmseg's inferencer)."""

from sfseg.acceleration import (
    PRECISIONS,
    LayoutTuner,
    autocast_for,
    tune_layout,
)
from sfseg.deploy.backends import BACKENDS, resolve_precision

from .inference import SFSegInferencer, dataset_meta_of, init_model
from .input_images import (
    MIN_SIDE,
    OVERSIZE,
    InputImageError,
    check_min_size,
    fit_max_size,
    read_image,
)
from .runtime_network import RuntimeNetwork, route_through

__all__ = [
    'BACKENDS',
    'LayoutTuner',
    'tune_layout',
    'PRECISIONS',
    'RuntimeNetwork',
    'route_through',
    'autocast_for',
    'resolve_precision',
    'MIN_SIDE',
    'InputImageError',
    'SFSegInferencer',
    'check_min_size',
    'dataset_meta_of',
    'fit_max_size',
    'init_model',
    'OVERSIZE',
    'read_image',
]
