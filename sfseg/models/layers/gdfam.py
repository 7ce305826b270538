"""Gated Dual Flow Alignment Module (GD-FAM) of SFNet-Lite."""

import torch
import torch.nn as nn
from torch import Tensor

from .fam import FAM


class GDFAM(FAM):
    """Warp both inputs with two learned flows and blend them with a gate.

    Matches the official ``AlignedModulev2PoolingAtten``:

    1. ``l = down_l(low)``; ``h = up(down_h(high))`` (bilinear,
       ``align_corners=True``), both ``mid_channels`` wide.
    2. ``flow = flow_make(cat([h, l]))`` has 4 channels: ``flow[:, :2]``
       warps ``high`` to the fine grid, ``flow[:, 2:]`` warps ``low``.
    3. ``gate = sigmoid(conv3x3(cat([mean(h), mean(low), max(h),
       max(low)])))`` with channel-wise mean / max; note the low statistics
       use the *unreduced* ``low`` feature.
    4. ``out = warp(high) * gate + warp(low) * (1 - gate)``.

    Args:
        in_channels (int): C, channels of both inputs.
        mid_channels (int, optional): reduced channels. Default: C // 2.
        kernel_size (int): kernel of the flow conv (paper Table 9b).
        gate_kernel_size (int): kernel of the gate conv (official: 3).

    Shape:
        - low: N x C x H x W (fine feature)
        - high: N x C x h x w (coarse feature)
        - output: N x C x H x W
    """

    def __init__(
        self, in_channels, mid_channels=None, kernel_size=3, gate_kernel_size=3
    ):
        super().__init__(
            in_channels, mid_channels, kernel_size, flow_channels=4
        )
        self.flow_gate = nn.Sequential(
            nn.Conv2d(
                4,
                1,
                gate_kernel_size,
                padding=gate_kernel_size // 2,
                bias=False,
            ),
            nn.Sigmoid(),
        )

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        high_reduced, flow = self.predict_flow(low, high)
        high_warped = self.warp(high, flow[:, 0:2])
        low_warped = self.warp(low, flow[:, 2:4])
        stats = torch.cat(
            [
                high_reduced.mean(dim=1, keepdim=True),
                low.mean(dim=1, keepdim=True),
                high_reduced.amax(dim=1, keepdim=True),
                low.amax(dim=1, keepdim=True),
            ],
            dim=1,
        )
        gate = self.flow_gate(stats)
        # high * gate + low * (1 - gate) in one pass (equal up to rounding);
        # lerp wants one dtype, which autocast does not promise (the gate
        # conv runs in bf16 / fp16, a warp may leave in fp32)
        dtype = torch.promote_types(low_warped.dtype, high_warped.dtype)
        low_warped, high_warped, gate = (
            t if t.dtype == dtype else t.to(dtype)  # no Cast in fp32 graphs
            for t in (low_warped, high_warped, gate)
        )
        return torch.lerp(low_warped, high_warped, gate)
