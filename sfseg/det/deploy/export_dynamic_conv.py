"""K-Net's dynamic mask convolution in a form ONNX can export.

Each update stage convolves an image's features with the K kernels it
has just predicted (:meth:`KernelUpdateHead.mask_conv`): one grouped
convolution whose weight is a tensor computed in the graph and whose
group count is the batch size. The TorchScript exporter refuses a
convolution whose weight shape it cannot infer, and would bake the batch
size into ``group``. :class:`ExportKernelUpdateHead` replaces it, under
graph capture only, by a matrix product (after ``unfold`` for k > 1),
which is shape-generic in batch, height and width. Eager calls keep the
grouped convolution, so eager outputs are unchanged.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from sfseg.acceleration.tracing import is_tracing
from sfseg.det.knet import KernelUpdateHead


def dynamic_conv_export(x: Tensor, kernels: Tensor, k: int) -> Tensor:
    """``KernelUpdateHead.mask_conv`` as Unfold (k > 1) + MatMul.

    ``k`` is the kernel size as a Python int (a traced ``kernels.shape``
    would turn the branch into a trace-time constant with a warning).

    Shape:
        - x: (B, C, h, w)
        - kernels: (B, K, C, k, k), k odd
        - output: (B, K, h, w)
    """
    batch_size, _, h, w = x.shape
    num_kernels = kernels.shape[1]
    if k == 1:
        cols = x.flatten(2)  # (B, C, h*w)
    else:
        cols = F.unfold(x, k, padding=k // 2)  # (B, C*k*k, h*w)
    weights = kernels.reshape(batch_size, num_kernels, -1).to(x.dtype)
    return torch.matmul(weights, cols).reshape(batch_size, num_kernels, h, w)


class ExportKernelUpdateHead(KernelUpdateHead):
    """A :class:`KernelUpdateHead` whose traced graph writes the dynamic
    mask convolution as :func:`dynamic_conv_export`."""

    def mask_conv(self, x, kernels):
        if is_tracing():
            return dynamic_conv_export(x, kernels, self.conv_kernel_size)
        return KernelUpdateHead.mask_conv(x, kernels)


def use_export_dynamic_conv(model: torch.nn.Module) -> int:
    """Turn every :class:`KernelUpdateHead` of ``model`` into an
    :class:`ExportKernelUpdateHead` in place (same eager outputs);
    returns how many."""
    count = 0
    for module in model.modules():
        if type(module) is KernelUpdateHead:
            module.__class__ = ExportKernelUpdateHead
            count += 1
    return count
