"""Bilinear grid sampling of channels-last CPU tensors as one gather.

PyTorch's CPU ``grid_sample`` works on NCHW: a channels-last input is
read with strided loads and the output comes back NCHW, so every flow
warp in a channels-last model costs a slow sample plus a transposing copy
before the next convolution (about 0.3 s of SFNet-Lite-STDC1's 1.5 s at
1024x2048 on a 2-core AVX2 CPU). In NHWC each input pixel's channels are
one contiguous row, so bilinear sampling is a weighted sum of four rows:
exactly what ``F.embedding_bag(mode='sum', per_sample_weights=...)``
computes, with fbgemm kernels, straight into an NHWC output.
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def can_gather_warp(x: Tensor) -> bool:
    """True where :func:`gather_warp` is the faster exact replacement.

    CPU, channels-last and no autograd (training keeps ``grid_sample``,
    whose backward is the one the official code uses).
    """
    return (
        x.device.type == 'cpu'
        and x.dim() == 4
        and not torch.is_grad_enabled()
        and x.is_contiguous(memory_format=torch.channels_last)
    )


def bilinear_taps(grid: Tensor, height, width):
    """The four taps of ``grid_sample(..., 'bilinear', 'zeros',
    align_corners=True)`` of an N x C x ``height`` x ``width`` input.

    Only run-time shapes and tensor bounds are used, so the taps also
    trace into an ONNX graph (:mod:`sfseg.deploy.export_warp`).

    Args:
        grid (Tensor): N x H x W x 2 positions, x then y, in [-1, 1].
        height, width: the input's size (ints, or traced sizes).

    Returns:
        list[tuple[Tensor, Tensor]]: per tap (index, weight), both
        N x H x W: the row of the tap's pixel in the (N * height * width)
        table of input pixels (clamped into the image; int64) and its
        bilinear weight (float32), 0 where the tap lies outside (the zero
        padding).
    """
    n = grid.shape[0]
    grid = grid if grid.dtype == torch.float32 else grid.float()
    # align_corners=True: -1 and 1 are the centres of the border pixels
    src_x = (grid[..., 0] + 1) * ((width - 1) * 0.5)
    src_y = (grid[..., 1] + 1) * ((height - 1) * 0.5)
    x0 = src_x.floor()
    y0 = src_y.floor()
    wx1 = src_x - x0
    wy1 = src_y - y0
    first = torch.arange(n, device=grid.device).view(n, 1, 1)
    first = first * (height * width)
    taps = []
    for dy, wy in ((0, 1 - wy1), (1, wy1)):
        row = y0 + dy
        row_in = (row >= 0) & (row <= height - 1)
        row = row.clamp(min=0).clamp(max=height - 1).long()
        for dx, wx in ((0, 1 - wx1), (1, wx1)):
            col = x0 + dx
            inside = row_in & (col >= 0) & (col <= width - 1)
            col = col.clamp(min=0).clamp(max=width - 1).long()
            taps.append((first + row * width + col, wy * wx * inside.float()))
    return taps


def gather_warp(x: Tensor, grid: Tensor) -> Tensor:
    """``F.grid_sample(x, grid, 'bilinear', 'zeros', align_corners=True)``.

    Same source coordinates, corner weights and zero padding as
    ``grid_sample`` (tests check equality to 1e-6). A bf16 / fp16 ``x``
    is sampled in its dtype at float32 positions and weights: the output
    equals the float32 sample rounded to ``x``'s dtype.

    Args:
        x (Tensor): N x C x H_in x W_in, channels-last.
        grid (Tensor): N x H x W x 2 (or 1 x H x W x 2), x then y in
            [-1, 1].

    Returns:
        Tensor: N x C x H x W, channels-last.
    """
    n, c, h_in, w_in = x.shape
    grid = grid.expand(n, -1, -1, -1)
    h, w = grid.shape[1:3]
    indices, weights = zip(*bilinear_taps(grid, h_in, w_in))
    indices = torch.stack(indices, dim=-1).view(-1, 4)
    weights = torch.stack(weights, dim=-1).view(-1, 4)
    if torch.finfo(x.dtype).bits < 32:
        # Rounded to bf16 the weights alone would err by 2**-9; as each
        # rounded weight plus its rounded rest, summed in fp32 by the bag,
        # only the output is rounded (the gather alone takes 1.3x the time
        # of 4 taps; whole bf16 models the same time).
        rounded = weights.to(x.dtype)
        rest = (weights - rounded.float()).to(x.dtype)
        indices = torch.cat([indices, indices], dim=1)
        weights = torch.cat([rounded, rest], dim=1)
    weights = weights.to(x.dtype)
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)  # a view for channels-last
    out = F.embedding_bag(
        indices, rows, per_sample_weights=weights, mode='sum'
    )
    return out.view(n, h, w, c).permute(0, 3, 1, 2)
