"""The flow warp of a prepared model: cached grids, gather sampling.

Replaces the paper's :class:`~sfseg.models.layers.FlowWarp` in FAM and
GD-FAM. Each warp module keeps the identity grid of the sizes it has seen
(built once instead of on every call) and samples channels-last CPU
inputs as one gather (:func:`~.gather_warp.gather_warp`, same values,
several times faster there); everything else, and every call under graph
capture, takes the paper's path.
"""

from collections import OrderedDict

import torch.nn as nn
from torch import Tensor

from sfseg.models.layers.flow_warp import (
    FlowWarp,
    base_grid,
    flow_warp,
    grid_dtype,
    sample,
    warp_grid,
)

from .gather_warp import can_gather_warp, gather_warp
from .options import AccelerationOptions, in_effect
from .tracing import is_tracing


class FastFlowWarp(nn.Module):
    """:func:`~sfseg.models.layers.flow_warp` with a per-module grid cache
    (``grid_cache``) and gather sampling of channels-last CPU inputs
    (``gather_warp``).

    Shape:
        - x: N x C x H_in x W_in
        - flow: N x 2 x H x W
        - output: N x C x H x W, channels-last where gathered
    """

    def __init__(self, options=None):
        super().__init__()
        self.options = options or AccelerationOptions()
        self._grids = OrderedDict()

    def grid(self, flow: Tensor) -> Tensor:
        """:func:`base_grid` of ``flow``, kept per (size, dtype, device)."""
        key = (tuple(flow.shape[-2:]), grid_dtype(flow.dtype), flow.device)
        grid = self._grids.get(key)
        if grid is None:
            grid = self._grids[key] = base_grid(flow)
            if len(self._grids) > self.options.grid_cache_size:
                self._grids.popitem(last=False)
        else:
            self._grids.move_to_end(key)
        return grid

    def forward(self, x: Tensor, flow: Tensor) -> Tensor:
        if is_tracing():  # the graph keeps the shape arithmetic
            return flow_warp(x, flow)
        options = in_effect(self.options)
        grid = self.grid(flow) if options.grid_cache else None
        grid = warp_grid(flow, grid)
        if options.gather_warp and can_gather_warp(x):
            return gather_warp(x, grid)
        return sample(x, grid)


def use_fast_flow_warp(model: nn.Module, options=None) -> int:
    """Replace every :class:`~sfseg.models.layers.FlowWarp` of ``model``
    by a :class:`FastFlowWarp`; returns how many."""
    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is FlowWarp:
                setattr(module, name, FastFlowWarp(options))
                count += 1
    return count
