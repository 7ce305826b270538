"""K-Net panoptic segmentation for mmdet 3.x (modules named as in K-Net)."""

from .conv_kernel_head import ConvKernelHead
from .kernel_iter_head import KernelIterHead
from .kernel_update_head import KernelUpdateHead
from .kernel_updator import KernelUpdator
from .knet import KNet, merge_panoptic
from .knet_fusion_head import KNetFusionHead
from .mask_cost import MaskCost
from .semantic_fpn_wrapper import SemanticFPNWrapper

__all__ = [
    'ConvKernelHead',
    'KNet',
    'KNetFusionHead',
    'KernelIterHead',
    'KernelUpdateHead',
    'KernelUpdator',
    'MaskCost',
    'SemanticFPNWrapper',
    'merge_panoptic',
]
