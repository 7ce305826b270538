"""What ties sfseg's models to the official release: the table of model
families, the official key layouts, the ImageNet initialiser and the
reading of official files wherever sfseg reads a checkpoint."""

from .families import FAMILIES, OfficialFamily, family_of_config
from .imagenet_init import SFImageNetInit, official_backbone
from .official_files import OfficialSFSegNets, model_family

__all__ = [
    'FAMILIES',
    'OfficialFamily',
    'OfficialSFSegNets',
    'SFImageNetInit',
    'family_of_config',
    'model_family',
    'official_backbone',
]
