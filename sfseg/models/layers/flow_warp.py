"""Flow warping used by FAM and GD-FAM."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def base_grid(flow: Tensor) -> Tensor:
    """Identity sampling grid matching ``flow``'s spatial size.

    Built from the tensor's run-time shape (``arange`` rather than a
    ``linspace`` over Python ints), so an exported ONNX graph recomputes it
    for every input size instead of baking in the traced one.

    Args:
        flow (Tensor): N x 2 x H x W.

    Returns:
        Tensor: 1 x H x W x 2 grid in :func:`grid_dtype` of the flow,
        ``[..., 0]`` = x in [-1, 1] (width), ``[..., 1]`` = y in [-1, 1]
        (height); equal to the official ``linspace(-1, 1, n)`` grid.
    """
    dtype = grid_dtype(flow.dtype)
    h, w = flow.shape[-2:]
    ys = torch.arange(h, dtype=dtype, device=flow.device)
    xs = torch.arange(w, dtype=dtype, device=flow.device)
    # linspace(-1, 1, n)[i] == -1 + 2 * i / (n - 1); n == 1 gives [-1].
    ys = ys * (2.0 / max(h - 1, 1)) - 1.0
    xs = xs * (2.0 / max(w - 1, 1)) - 1.0
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((grid_x, grid_y), dim=-1).unsqueeze(0)


def grid_dtype(dtype: torch.dtype) -> torch.dtype:
    """Dtype of sampling grids for a flow of ``dtype``: float32 for the
    half-precision flows of autocast, else the flow's own (float64 in the
    equivalence checks).

    The official code builds its grid in the input's dtype, harmless in
    its fp16 (11-bit mantissa: about 0.1 px at width 512) but not in bf16
    (8 bits: integers exact only up to 256, positions off by up to 2 px at
    width 512).
    """
    return torch.promote_types(dtype, torch.float32)


def flow_warp(x: Tensor, flow: Tensor) -> Tensor:
    """Sample ``x`` at the identity grid shifted by ``flow``.

    Official SFNet semantics: the grid spans [-1, 1] at the output size,
    the flow (in output pixels, channel 0 = x, channel 1 = y) is divided by
    the output width / height, and ``grid_sample`` runs bilinear with
    ``align_corners=True`` and zero padding. With zero flow this equals
    ``F.interpolate(x, size, mode='bilinear', align_corners=True)``.

    Args:
        x (Tensor): N x C x H_in x W_in feature to warp.
        flow (Tensor): N x 2 x H x W offsets; (H, W) is the output size.

    Under autocast (bf16 / fp16 features and flows) the grid and the
    normalised flow are computed in float32 (:func:`grid_dtype`) and the
    feature is sampled at those exact positions; the output keeps the
    feature's dtype. fp32 and fp64 warps are unchanged.

    Returns:
        Tensor: N x C x H x W warped feature, ``x``'s dtype.
    """
    return sample(x, warp_grid(flow))


def warp_grid(flow: Tensor, grid: Tensor = None) -> Tensor:
    """The sampling positions of :func:`flow_warp`: the identity grid
    plus the flow normalised by the output width / height (N x H x W x 2,
    in :func:`grid_dtype` of the flow)."""
    h, w = flow.shape[-2:]
    flow = _cast(flow, grid_dtype(flow.dtype))
    offset_x = flow[:, 0] / w
    offset_y = flow[:, 1] / h
    if grid is None:
        grid = base_grid(flow)
    return grid + torch.stack((offset_x, offset_y), dim=-1)


def sample(x: Tensor, grid: Tensor) -> Tensor:
    """``grid_sample(x, grid)``, bilinear, zero padding,
    ``align_corners=True``, in the output dtype of ``x``."""
    # grid_sample wants one dtype: a half-precision feature is sampled in
    # float32 rather than rounding the grid to its precision
    sample_dtype = grid_dtype(x.dtype)
    out = F.grid_sample(
        _cast(x, sample_dtype),
        _cast(grid, sample_dtype),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=True,
    )
    return _cast(out, x.dtype)


def _cast(x: Tensor, dtype: torch.dtype) -> Tensor:
    # no Cast node in exported fp32 graphs
    return x if x.dtype == dtype else x.to(dtype)


class FlowWarp(nn.Module):
    """:func:`flow_warp` as a (parameter-free) module, so that a prepared
    model can replace it (``sfseg.acceleration``) without touching the
    modules that warp.

    Shape:
        - x: N x C x H_in x W_in
        - flow: N x 2 x H x W
        - output: N x C x H x W
    """

    def forward(self, x: Tensor, flow: Tensor) -> Tensor:
        return flow_warp(x, flow)
