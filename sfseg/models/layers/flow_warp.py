"""Flow warping used by FAM and GD-FAM."""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor

from .gather_warp import can_gather_warp, gather_warp
from .tracing import is_tracing

_GRID_CACHE = OrderedDict()
_GRID_CACHE_SIZE = 16
_GRID_CACHE_ENABLED = [True]


def set_grid_cache(enabled: bool) -> bool:
    """Turn base-grid caching on or off; returns the previous setting."""
    previous = _GRID_CACHE_ENABLED[0]
    _GRID_CACHE_ENABLED[0] = bool(enabled)
    if not enabled:
        _GRID_CACHE.clear()
    return previous


def base_grid(flow: Tensor, cache: bool = True) -> Tensor:
    """Identity sampling grid matching ``flow``'s spatial size.

    Built from the tensor's run-time shape (``arange`` rather than a
    ``linspace`` over Python ints), so an exported ONNX graph recomputes it
    for every input size instead of baking in the traced one.

    Args:
        flow (Tensor): N x 2 x H x W.

    In eager mode the grid of each (size, dtype, device) is built once and
    cached (``cache=False`` disables that); while tracing or exporting it is
    always rebuilt so the graph keeps the shape arithmetic.

    Returns:
        Tensor: 1 x H x W x 2 grid in :func:`grid_dtype` of the flow,
        ``[..., 0]`` = x in [-1, 1] (width), ``[..., 1]`` = y in [-1, 1]
        (height); equal to the official ``linspace(-1, 1, n)`` grid.
    """
    dtype = grid_dtype(flow.dtype)
    if not (cache and _GRID_CACHE_ENABLED[0]) or is_tracing():
        return _make_grid(flow, dtype)
    key = (tuple(flow.shape[-2:]), dtype, flow.device)
    grid = _GRID_CACHE.get(key)
    if grid is None:
        grid = _make_grid(flow, dtype)
        _GRID_CACHE[key] = grid
        if len(_GRID_CACHE) > _GRID_CACHE_SIZE:
            _GRID_CACHE.popitem(last=False)
    else:
        _GRID_CACHE.move_to_end(key)
    return grid


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


def _make_grid(flow: Tensor, dtype: torch.dtype) -> Tensor:
    h, w = flow.shape[-2:]
    ys = torch.arange(h, dtype=dtype, device=flow.device)
    xs = torch.arange(w, dtype=dtype, device=flow.device)
    # linspace(-1, 1, n)[i] == -1 + 2 * i / (n - 1); n == 1 gives [-1].
    ys = ys * (2.0 / max(h - 1, 1)) - 1.0
    xs = xs * (2.0 / max(w - 1, 1)) - 1.0
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((grid_x, grid_y), dim=-1).unsqueeze(0)


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

    A channels-last CPU input at inference is sampled by
    :func:`~.gather_warp.gather_warp` (same values, channels-last output,
    several times faster there).

    Under autocast (bf16 / fp16 features and flows) the grid and the
    normalised flow are computed in float32 (:func:`grid_dtype`) and the
    feature is sampled at those exact positions; the output keeps the
    feature's dtype. fp32 and fp64 warps are unchanged.

    Returns:
        Tensor: N x C x H x W warped feature, ``x``'s dtype.
    """
    h, w = flow.shape[-2:]
    flow = _cast(flow, grid_dtype(flow.dtype))
    offset_x = flow[:, 0] / w
    offset_y = flow[:, 1] / h
    grid = base_grid(flow) + torch.stack((offset_x, offset_y), dim=-1)
    if not is_tracing() and can_gather_warp(x):
        return gather_warp(x, grid)
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
