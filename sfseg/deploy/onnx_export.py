"""Export an mmseg segmentor to ONNX (opset >= 16 for GridSample).

The graph input ``input`` is N x 3 x H x W, already normalised with the
config's mean / std (RGB); ``output`` is the logits at the head's
resolution, or full-resolution labels with ``argmax=True``. Height and
width stay dynamic unless ``dynamic=False``: sfseg's flow warp builds its
grid from run-time shapes, and the PPM's pooling is swapped for
:class:`~.export_pooling.ShapeGenericAdaptiveAvgPool2d` before tracing
(docs/deployment.md).
"""

import torch
import torch.nn.functional as F

from .export_pooling import use_shape_generic_pooling


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
    model, output, shape, opset=17, dynamic=True, dynamo=False, argmax=False
):
    """Write ``output``; return the (eval-mode) wrapper that was traced.

    ``model``'s adaptive average pooling is made shape-generic in place
    (same eager outputs)."""
    if opset < 16:
        raise ValueError(f'opset {opset} has no GridSample; use >= 16')
    use_shape_generic_pooling(model)
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
        axes = (
            {
                'input': {0: 'batch', 2: 'height', 3: 'width'},
                'output': {0: 'batch'},
            }
            if dynamic
            else None
        )
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
    return wrapper
