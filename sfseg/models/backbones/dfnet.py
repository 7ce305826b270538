"""DFNet backbones ("Partial Order Pruning", Li et al. CVPR 2019)."""

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.backbones.resnet import BasicBlock
from mmseg.models.utils import ResLayer
from mmseg.registry import MODELS

from ..utils import swap_norm


@MODELS.register_module()
class SFDFNet(BaseModule):
    """DFNet v1 / v2 as used by the official SFNet (no mmseg counterpart).

    A two-conv stride-4 stem (``stage1``: 3x3 s2 3->32, 3x3 s2 32->64, each
    conv-BN-ReLU) followed by stages of plain (torchvision-style)
    BasicBlocks; the first block of a stage carries the stride and a 1x1
    conv + BN shortcut when the shape changes. No dilation.

    ======  =========================================  ================
    arch    stages (name: blocks x channels, stride)    outputs
    ======  =========================================  ================
    v1      stage2 3x64 s2, stage3 3x128 s2,            stage3, stage4,
            stage4 3x256 s2, stage5 1x512 s1            stage5
    v2      stage2_1 2x64 s2, stage2_2 1x128 s1,        stage2_2,
            stage3_1 10x128 s2, stage3_2 1x256 s1,      stage3_2,
            stage4_1 4x256 s2, stage4_2 2x512 s1        stage4_2
    ======  =========================================  ================

    ``block_norm_cfg`` (default ``norm_cfg``) sets the norm of the basic
    blocks' ``bn1`` / ``bn2``: the official model builds them as plain BN
    and synchronises only the stem and shortcut BNs under SyncBN training.

    Shape (input N x 3 x H x W):
        - v1 outputs: (N x 128 x H/16, N x 256 x H/32, N x 512 x H/32)
        - v2 outputs: (N x 128 x H/8, N x 256 x H/16, N x 512 x H/32)
    """

    arch_settings = {
        'v1': (
            [('stage2', 3, 64, 2), ('stage3', 3, 128, 2),
             ('stage4', 3, 256, 2), ('stage5', 1, 512, 1)],
            ('stage3', 'stage4', 'stage5'),
        ),
        'v2': (
            [('stage2_1', 2, 64, 2), ('stage2_2', 1, 128, 1),
             ('stage3_1', 10, 128, 2), ('stage3_2', 1, 256, 1),
             ('stage4_1', 4, 256, 2), ('stage4_2', 2, 512, 1)],
            ('stage2_2', 'stage3_2', 'stage4_2'),
        ),
    }  # fmt: skip

    def __init__(
        self,
        arch='v1',
        in_channels=3,
        conv_cfg=None,
        norm_cfg=dict(type='BN', requires_grad=True),
        block_norm_cfg=None,
        init_cfg=None,
    ):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm']),
            ]
        super().__init__(init_cfg)
        if arch not in self.arch_settings:
            raise KeyError(
                f'{type(self).__name__}: arch must be one of '
                f'{sorted(self.arch_settings)}, got {arch!r}'
            )
        stages, self.out_stages = self.arch_settings[arch]
        self.arch = arch
        self.stage1 = nn.Sequential(
            build_conv_layer(
                conv_cfg, in_channels, 32, 3, stride=2, padding=1, bias=False
            ),
            build_norm_layer(norm_cfg, 32)[1],
            nn.ReLU(inplace=True),
            build_conv_layer(
                conv_cfg, 32, 64, 3, stride=2, padding=1, bias=False
            ),
            build_norm_layer(norm_cfg, 64)[1],
            nn.ReLU(inplace=True),
        )
        self.stage_names = [name for name, *_ in stages]
        inplanes = 64
        for name, num_blocks, planes, stride in stages:
            layer = ResLayer(
                BasicBlock,
                inplanes,
                planes,
                num_blocks,
                stride=stride,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
            )
            self.add_module(name, layer)
            inplanes = planes
            if block_norm_cfg is not None:
                for block in layer:
                    swap_norm(block, block.norm1_name, block_norm_cfg)
                    swap_norm(block, block.norm2_name, block_norm_cfg)

    def forward(self, x):
        x = self.stage1(x)
        outs = []
        for name in self.stage_names:
            x = getattr(self, name)(x)
            if name in self.out_stages:
                outs.append(x)
        return tuple(outs)
