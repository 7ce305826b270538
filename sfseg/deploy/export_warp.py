"""A flow warp that exports without GridSample.

GridSample is the one operator every SFNet graph needs and the one
runtimes lack or get wrong: TensorRT before 8.5 has none, TensorRT reads
opset-20 graphs' renamed mode as ``nearest``, its fp16 engines mis-sample
an fp32 grid, mmdeploy's plugin often fails to load, TFLite converters
disagree with ONNX on it (docs/deployment.md names the reports). With
``warp='gather'`` the exported graph computes the same bilinear sample
(``align_corners=True``, zero padding) from Gather and element-wise
operators that every runtime has, at any height and width.
"""

import torch.nn as nn
from torch import Tensor

from sfseg.acceleration.flow_warp import FastFlowWarp
from sfseg.acceleration.gather_warp import bilinear_taps
from sfseg.acceleration.tracing import is_tracing
from sfseg.models.layers.flow_warp import FlowWarp, flow_warp, warp_grid

WARPS = ('gridsample', 'gather')


def gather_sample(x: Tensor, grid: Tensor) -> Tensor:
    """``F.grid_sample(x, grid, 'bilinear', 'zeros', align_corners=True)``
    from ONNX Gather, Floor, Clip, comparisons and arithmetic only.

    Every shape is read from the tensors at run time, so a traced graph
    stays correct at other sizes. The input's pixels become the rows of an
    (N * H_in * W_in) x C table; each output pixel gathers its four
    neighbours' rows (indices clamped into the image) and weighs them by
    the bilinear weights times 1 where the neighbour lies inside the
    image, 0 outside (the zero padding).

    Args:
        x (Tensor): N x C x H_in x W_in feature.
        grid (Tensor): N x H x W x 2 (or 1 x H x W x 2) positions, x then
            y, in [-1, 1].

    Returns:
        Tensor: N x C x H x W.
    """
    n, c, h_in, w_in = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)
    out = None
    for index, weight in bilinear_taps(grid.expand(n, -1, -1, -1), h_in, w_in):
        term = rows[index] * weight.unsqueeze(-1)  # N x H x W x C
        out = term if out is None else out + term
    return out.permute(0, 3, 1, 2)


class GatherExportWarp(nn.Module):
    """The paper's flow warp in eager mode; :func:`gather_sample` at the
    same positions (:func:`~sfseg.models.layers.flow_warp.warp_grid`) when
    the model is traced for export.

    Shape:
        - x: N x C x H_in x W_in
        - flow: N x 2 x H x W
        - output: N x C x H x W
    """

    def forward(self, x: Tensor, flow: Tensor) -> Tensor:
        if is_tracing():
            return gather_sample(x, warp_grid(flow))
        return flow_warp(x, flow)


def use_gather_export_warp(model: nn.Module) -> int:
    """Replace every flow warp of ``model`` (the paper's
    :class:`~sfseg.models.layers.FlowWarp` or a prepared model's
    replacement) by a :class:`GatherExportWarp`; returns how many."""
    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, (FlowWarp, FastFlowWarp)):
                setattr(module, name, GatherExportWarp())
                count += 1
    return count
