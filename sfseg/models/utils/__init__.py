from .imagenet_init import SFImageNetInit, official_backbone
from .input_check import check_in_channels
from .norm_swap import swap_norm

__all__ = [
    'SFImageNetInit',
    'check_in_channels',
    'official_backbone',
    'swap_norm',
]
