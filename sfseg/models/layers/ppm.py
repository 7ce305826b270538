"""Pyramid pooling module in the variant the official SFNet uses."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor


class PPM(nn.Module):
    """Pyramid pooling context module (official ``PSPModule``).

    Differs from mmseg's ``PPM``/``UPerHead``: the pooled branches have no
    activation (pool -> 1x1 conv -> norm), the branch outputs come *before*
    the input in the concatenation, and the bottleneck is a 1x1
    conv-norm-act followed by ``Dropout2d``.

    Args:
        in_channels (int): C_in.
        channels (int): C_out of every branch and of the output.
        pool_scales (tuple[int]): adaptive pooling sizes.
        dropout_ratio (float): ``Dropout2d`` rate after the bottleneck.
        conv_cfg, norm_cfg, act_cfg (dict): as in mmcv ``ConvModule``.

    Shape:
        - input: N x C_in x H x W
        - output: N x C_out x H x W
    """

    def __init__(
        self,
        in_channels,
        channels,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        conv_cfg=None,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
    ):
        super().__init__()
        self.pool_scales = tuple(pool_scales)
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(scale),
                ConvModule(
                    in_channels,
                    channels,
                    1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=None,
                ),
            )
            for scale in pool_scales
        )
        self.bottleneck = nn.Sequential(
            ConvModule(
                in_channels + len(pool_scales) * channels,
                channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
            ),
            nn.Dropout2d(dropout_ratio),
        )

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[2:]
        priors = [
            F.interpolate(
                stage(x), size=size, mode='bilinear', align_corners=True
            )
            for stage in self.stages
        ]
        return self.bottleneck(torch.cat(priors + [x], dim=1))
