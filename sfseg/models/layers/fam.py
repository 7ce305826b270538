"""Flow Alignment Module (FAM) of SFNet."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .flow_warp import FlowWarp


class FAM(nn.Module):
    """Align a coarse feature to a finer one with a learned semantic flow.

    Matches the official ``AlignedModule``: both inputs are reduced to
    ``mid_channels`` by bias-free 1x1 convs, the reduced coarse feature is
    upsampled (bilinear, ``align_corners=True``), one bias-free conv on
    ``cat([high, low])`` predicts a 2-channel flow, and the *unreduced*
    coarse feature is warped to the fine resolution. The caller adds the
    fine feature (FAM itself does not).

    Args:
        in_channels (int): C, channels of both inputs.
        mid_channels (int, optional): reduced channels. Default: C // 2.
        kernel_size (int): kernel of the flow conv (paper Table 9b).
        flow_channels (int): channels the flow conv predicts (2 per warp).

    Shape:
        - low: N x C x H x W (fine feature)
        - high: N x C x h x w (coarse feature)
        - output: N x C x H x W (coarse feature warped to the fine grid)
    """

    def __init__(
        self, in_channels, mid_channels=None, kernel_size=3, flow_channels=2
    ):
        super().__init__()
        mid_channels = mid_channels or in_channels // 2
        self.down_h = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.down_l = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.flow_make = nn.Conv2d(
            2 * mid_channels,
            flow_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=False,
        )
        self.warp = FlowWarp()  # no parameters: the official flow_warp

    def predict_flow(self, low: Tensor, high: Tensor):
        """Return ``(high_reduced, flow)``, both at ``low``'s size.

        ``high_reduced`` is ``up(down_h(high))`` (N x C_mid x H x W) and
        ``flow`` is ``flow_make(cat([high_reduced, down_l(low)]))``.
        """
        low_reduced = self.down_l(low)
        high_reduced = F.interpolate(
            self.down_h(high),
            size=low.shape[2:],
            mode='bilinear',
            align_corners=True,
        )
        flow = self.flow_make(torch.cat([high_reduced, low_reduced], dim=1))
        return high_reduced, flow

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        _, flow = self.predict_flow(low, high)
        return self.warp(high, flow)


class BilinearAlign(nn.Module):
    """Parameter-free stand-in for FAM: plain bilinear upsampling.

    Used where an ablation (paper Table 8) switches FAM off at a level.

    Shape:
        - low: N x C x H x W (only its size is used)
        - high: N x C x h x w
        - output: N x C x H x W
    """

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        return F.interpolate(
            high, size=low.shape[2:], mode='bilinear', align_corners=True
        )
