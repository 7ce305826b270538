"""mmdet 3.x parts of sfseg, registered into mmdet's registries.

Never imported by ``import sfseg``; configs load it with
``custom_imports=dict(imports=['sfseg.det'], allow_failed_imports=False)``.
Importing it also registers the panoptic path of ``segment``.
"""

from sfseg.apis.segment_tasks import register_task

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

register_task('panoptic', 'sfseg.det.apis.panoptic_path:panoptic_outputs')

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
