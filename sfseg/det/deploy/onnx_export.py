"""Export K-Net's network (no merge) to ONNX with dynamic H and W.

The graph input ``input`` is (B, 3, H, W), normalised as the detector's
data preprocessor hands it to the network (H and W multiples of 32);
its output ``output`` is :func:`~.network.pack_outputs`' (B, N+S,
T+S + H/4 * W/4): the last stage's class and mask logits. Batch, height
and width stay dynamic unless ``dynamic=False``.

What the exported copy changes (eager outputs stay the same):

- :func:`~sfseg.deploy.export_pooling.use_shape_generic_pooling`: the
  PPM of SFNet necks pools into bins computed from the run-time size;
- :func:`~.export_dynamic_conv.use_export_dynamic_conv`: the update
  stages' dynamic mask convolution is written as a MatMul;
- SyncBN becomes BN (one CPU process; eval mode, same statistics);
- with ``warp='gather'``, the SFNet neck's flow warps are written without
  GridSample (:mod:`sfseg.deploy.export_warp`).

Parity: the runtimes agree with PyTorch to about 1e-6 of the largest
logit, but K-Net thresholds mask probabilities at 0.5 inside the network
(the features each kernel gathers), so a mask logit within float error
of 0 can flip one pixel there and move the later stages' logits by up to
about 2e-4 of the largest one (seen with random R50 weights in OpenVINO;
a trained model's masks are far from 0.5 and gave identical panoptic
maps).

The TorchScript exporter (``dynamo=False``) is used, as for sfseg's
semantic models, with the same opset policy
(:func:`sfseg.deploy.onnx_export.check_opset`: GridSample graphs at 16 to
18, gather graphs at 13 to 20).
"""

import copy

import torch
from mmengine.model import revert_sync_batchnorm

from sfseg.deploy.export_pooling import use_shape_generic_pooling
from sfseg.deploy.export_warp import use_gather_export_warp
from sfseg.deploy.onnx_export import check_opset, trace_export

from .export_dynamic_conv import use_export_dynamic_conv
from .network import KNetNetwork


def prepare_for_export(model, warp='gridsample'):
    """An eval-mode float32 CPU copy of ``model`` (left unchanged) with
    the export replacements of the module docstring."""
    network = revert_sync_batchnorm(copy.deepcopy(model)).cpu().float()
    use_shape_generic_pooling(network)
    use_export_dynamic_conv(network)
    if warp == 'gather':
        use_gather_export_warp(network)
    return network.eval()


def export_knet(
    model, output, shape, opset=17, dynamic=True, warp='gridsample'
):
    """Write K-Net ``model``'s network to the ONNX file ``output``.

    Args:
        model (KNet): A built detector (left unchanged).
        output (str): Path of the ONNX file.
        shape (tuple[int, int]): (H, W) traced, multiples of 32.
        opset (int): ONNX opset (>= 16 for SFNet necks).
        dynamic (bool): Batch, height and width dynamic in the graph.
        warp (str): ``'gridsample'`` or ``'gather'`` (no GridSample node).

    Returns:
        KNetNetwork: The eval-mode packed module that was traced (its
        outputs are what the graph computes).
    """
    check_opset(opset, warp)
    height, width = shape
    if height % 32 or width % 32:
        raise ValueError(
            f'K-Net inputs are padded to multiples of 32; got {shape}'
        )
    # eval() on the wrapper itself: the TorchScript exporter restores the
    # wrapper's training flag afterwards, which would flip the model.
    network = prepare_for_export(model, warp)
    wrapper = KNetNetwork(network, packed=True).eval()
    dummy = torch.zeros(1, 3, height, width)
    trace_export(
        wrapper,
        dummy,
        output,
        opset,
        dynamic,
        output_axes={0: 'batch', 2: 'classes_and_pixels'},
    )
    return wrapper
