"""mmdet 3.x parts of sfseg, registered into mmdet's registries.

Never imported by ``import sfseg``; configs load it with
``custom_imports=dict(imports=['sfseg.det'], allow_failed_imports=False)``.
"""

from .knet import (
    ConvKernelHead,
    KernelIterHead,
    KernelUpdateHead,
    KernelUpdator,
    KNet,
    KNetFusionHead,
    MaskCost,
    SemanticFPNWrapper,
)
from .sfnet import SF_DET_MODULES

__all__ = [
    'ConvKernelHead',
    'KNet',
    'KNetFusionHead',
    'KernelIterHead',
    'KernelUpdateHead',
    'KernelUpdator',
    'MaskCost',
    'SF_DET_MODULES',
    'SemanticFPNWrapper',
]
