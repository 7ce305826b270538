"""Pyramid pooling module in the variant the official SFNet uses."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from .tracing import is_tracing


def adaptive_avg_pool2d_export(x: Tensor, size: int) -> Tensor:
    """``F.adaptive_avg_pool2d(x, size)`` from shape-dependent slices.

    Same bins as PyTorch (``floor(i * L / s)`` to ``ceil((i + 1) * L / s)``)
    but computed from the run-time size, so exported graphs stay correct
    at any input size; the TorchScript exporter cannot export adaptive
    pooling of a dynamic input at all. Rows first, then columns: the mean
    of a rectangle equals the mean of its row means.

    Shape:
        - x: N x C x H x W
        - output: N x C x size x size
    """
    h, w = x.shape[-2:]
    rows = [
        x[:, :, (i * h) // size : ((i + 1) * h + size - 1) // size].mean(
            2, keepdim=True
        )
        for i in range(size)
    ]
    x = torch.cat(rows, dim=2)
    cols = [
        x[..., (j * w) // size : ((j + 1) * w + size - 1) // size].mean(
            3, keepdim=True
        )
        for j in range(size)
    ]
    return torch.cat(cols, dim=3)


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
        export = is_tracing()
        priors = []
        for scale, stage in zip(self.pool_scales, self.stages):
            if export:
                pooled = stage[1](adaptive_avg_pool2d_export(x, scale))
            else:
                pooled = stage(x)
            priors.append(
                F.interpolate(
                    pooled, size=size, mode='bilinear', align_corners=True
                )
            )
        return self.bottleneck(torch.cat(priors + [x], dim=1))
