"""Adaptive average pooling that exports at any input size.

The TorchScript ONNX exporter cannot export adaptive pooling of an input
whose size is dynamic, and a graph traced at one size would keep that
size's bins. :class:`ShapeGenericAdaptiveAvgPool2d` replaces the PPM's
``nn.AdaptiveAvgPool2d`` before export: eager calls take PyTorch's kernel,
graph capture takes bins computed from the run-time size.
"""

import torch
import torch.nn as nn
from torch import Tensor

from sfseg.acceleration.tracing import is_tracing
from sfseg.models.layers import PPM


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


class ShapeGenericAdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """``nn.AdaptiveAvgPool2d(size)`` (an int) whose traced graph
    computes its bins from the run-time input size."""

    def forward(self, x: Tensor) -> Tensor:
        if is_tracing():
            return adaptive_avg_pool2d_export(x, self.output_size)
        return super().forward(x)


def use_shape_generic_pooling(model: nn.Module) -> int:
    """Turn the adaptive pooling of every PPM branch of ``model`` into a
    :class:`ShapeGenericAdaptiveAvgPool2d` in place (same eager outputs;
    other adaptive pooling, e.g. STDC's global 1x1 context, exports as
    ``GlobalAveragePool`` already); returns how many."""
    count = 0
    for module in model.modules():
        if not isinstance(module, PPM):
            continue
        for stage, scale in zip(module.stages, module.pool_scales):
            if type(stage[0]) is nn.AdaptiveAvgPool2d:
                stage[0].__class__ = ShapeGenericAdaptiveAvgPool2d
                stage[0].output_size = scale
                count += 1
    return count
