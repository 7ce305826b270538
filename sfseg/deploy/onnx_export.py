"""Export an mmseg segmentor to ONNX, with or without GridSample.

The graph input ``input`` is N x 3 x H x W, already normalised with the
config's mean / std (RGB); ``output`` is the logits at the head's
resolution, or full-resolution labels with ``argmax=True``. Height and
width stay dynamic unless ``dynamic=False``: sfseg's flow warp builds its
grid from run-time shapes, and the PPM's pooling is swapped for
:class:`~.export_pooling.ShapeGenericAdaptiveAvgPool2d` before tracing
(docs/deployment.md).

``warp='gridsample'`` (default) writes the flow warp as ONNX GridSample,
at opset 16 to 18: GridSample first appears in opset 16, and opset 20
renames its ``bilinear`` mode to ``linear``, which TensorRT up to 10.x
reads as ``nearest`` without a word (NVIDIA/TensorRT#4646).
``warp='gather'`` writes it as Gather and element-wise operators
(:mod:`.export_warp`), at opset 13 or later (GatherND-free, Clip with
run-time bounds, GreaterOrEqual): for runtimes without a usable
GridSample.
"""

import torch
import torch.nn.functional as F

from .export_pooling import use_shape_generic_pooling
from .export_warp import WARPS, use_gather_export_warp

# opsets each warp is written for (see the module docstring)
OPSETS = {'gridsample': (16, 18), 'gather': (13, 20)}


def check_opset(opset, warp='gridsample'):
    """Refuse an opset the ``warp`` graph is not written for, saying why."""
    if warp not in WARPS:
        raise ValueError(f'warp {warp!r} is not one of {", ".join(WARPS)}')
    low, high = OPSETS[warp]
    if low <= opset <= high:
        return
    if warp == 'gather':
        raise ValueError(
            f'opset {opset}: the gather warp is written for opsets '
            f'{low} to {high}'
        )
    if opset < low:
        raise ValueError(
            f'opset {opset} has no GridSample (opset 16 adds it); use 16 '
            "to 18, or warp='gather' (--warp gather) for a graph without it"
        )
    raise ValueError(
        f'opset {opset}: GridSample graphs are written at opset 16 to 18; '
        "opset 20 renames its mode to 'linear', which TensorRT reads as "
        "'nearest' (NVIDIA/TensorRT#4646); use warp='gather' "
        '(--warp gather) for newer opsets'
    )


class ExportWrapper(torch.nn.Module):
    """``x -> logits`` (N x K x H/s x W/s) or ``x -> labels`` (N x H x W)."""

    def __init__(self, segmentor, argmax=False):
        super().__init__()
        self.segmentor = segmentor
        self.argmax = argmax

    def forward(self, inputs):
        logits = self.segmentor(inputs, None, mode='tensor')
        if not self.argmax:
            return logits
        logits = F.interpolate(
            logits,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=self.segmentor.decode_head.align_corners,
        )
        return logits.argmax(dim=1)


def export_onnx(
    model,
    output,
    shape,
    opset=17,
    dynamic=True,
    dynamo=False,
    argmax=False,
    warp='gridsample',
):
    """Write ``output``; return the (eval-mode) wrapper that was traced.

    ``model``'s adaptive average pooling is made shape-generic in place,
    and with ``warp='gather'`` its flow warps are replaced by
    :class:`~.export_warp.GatherExportWarp` (same eager outputs)."""
    check_opset(opset, warp)
    use_shape_generic_pooling(model)
    if warp == 'gather':
        use_gather_export_warp(model)
    # eval() on the wrapper itself: the TorchScript exporter restores the
    # wrapper's training flag afterwards, which would flip the model.
    wrapper = ExportWrapper(model, argmax).eval()
    dummy = torch.zeros(1, 3, *shape)
    if dynamo:
        from torch.export import Dim

        dynamic_shapes = None
        if dynamic:
            h = Dim('h32', min=1, max=256)
            w = Dim('w32', min=1, max=256)
            dynamic_shapes = {'inputs': {2: 32 * h, 3: 32 * w}}
        torch.onnx.export(
            wrapper,
            (dummy,),
            output,
            dynamo=True,
            input_names=['input'],
            output_names=['output'],
            dynamic_shapes=dynamic_shapes,
            opset_version=opset,
            external_data=False,
        )
    else:
        trace_export(wrapper, dummy, output, opset, dynamic)
    return wrapper


def trace_export(wrapper, dummy, output, opset, dynamic, output_axes=None):
    """The TorchScript exporter on ``wrapper`` (one input ``input``, one
    output ``output``), batch, height and width of the input dynamic
    unless ``dynamic`` is false; ``output_axes`` names the output's
    dynamic axes (default: the batch)."""
    axes = None
    if dynamic:
        axes = {
            'input': {0: 'batch', 2: 'height', 3: 'width'},
            'output': output_axes or {0: 'batch'},
        }
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (dummy,),
            output,
            dynamo=False,
            input_names=['input'],
            output_names=['output'],
            dynamic_axes=axes,
            opset_version=opset,
        )
