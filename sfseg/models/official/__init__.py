"""What ties sfseg's models to the official release: the table of model
families, the official key layouts and the ImageNet initialiser."""

from .families import FAMILIES, OfficialFamily, family_of_config
from .imagenet_init import SFImageNetInit, official_backbone

__all__ = [
    'FAMILIES',
    'OfficialFamily',
    'SFImageNetInit',
    'family_of_config',
    'official_backbone',
]
