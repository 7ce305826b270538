"""The one path from a PyTorch segmentor to a runtime, and its inputs.

:func:`export_network` (accelerate a copy: BN folded, deep supervision
removed; export to ONNX), :func:`build_runtime_network` (that, then int8
quantisation where asked, then the runtime opened) and
:func:`network_inputs` (images as the model's data preprocessor hands them
to the network) are what ``SFSegInferencer(backend=...)``, ``segment.py
--backend``, ``benchmark.py`` and ``pytorch2onnx.py`` call.
"""

import copy
import os.path as osp

import mmcv
import numpy as np
import torch

from sfseg.acceleration import accelerate

from .aoti_export import TRACE_SHAPE, export_aoti
from .onnx_export import export_onnx
from .quantize import quantize_onnx
from .runtimes import open_runtime


def export_network(model, output, shape, **export_options):
    """Export a prepared copy of ``model`` (left unchanged) to ``output``;
    returns the traced wrapper (see :func:`export_onnx` for the options:
    ``opset``, ``dynamic``, ``dynamo``, ``argmax``, ``warp``)."""
    network = accelerate(copy.deepcopy(model).cpu().float())
    return export_onnx(network, output, shape, **export_options)


def build_runtime_network(
    model,
    backend,
    work_dir,
    precision='fp32',
    calibration=(),
    threads=None,
    shape=(128, 256),
    dynamic=True,
    warp='gridsample',
):
    """``(runner, file)``: ``model``'s network in ``backend`` (its ONNX
    graph, or for ``'aoti'`` its ``.pt2`` package).

    Args:
        model: an mmseg segmentor (left unchanged).
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'aoti'``.
        work_dir (str): where the files are written (``model.onnx``,
            ``model.int8.onnx``, ``model.pt2``); an existing file is
            reused.
        precision (str): ``'fp32'``, ``'bf16'`` (OpenVINO) or ``'int8'``
            (static QDQ quantisation calibrated on ``calibration``:
            arrays from :func:`network_inputs`).
        threads (int, optional): intra-op threads of the runtime.
        shape (tuple): traced height and width.
        dynamic (bool): height and width dynamic in the graph.
        warp (str): ``'gridsample'`` or ``'gather'`` (no GridSample node,
            :mod:`.export_warp`).

    The runner takes and returns float32 numpy arrays (N x 3 x H x W
    normalised images -> N x K x H/s x W/s logits).
    """
    if backend == 'aoti':  # dynamic: traced at its own size
        stem = 'model' if dynamic else f'model.{shape[0]}x{shape[1]}'
        path = osp.join(work_dir, f'{stem}.pt2')
        if not osp.exists(path):
            export_aoti(
                model, path, TRACE_SHAPE if dynamic else shape, dynamic
            )
        return open_runtime(backend, path, threads, precision), path
    stem = 'model' if warp == 'gridsample' else f'model.{warp}'
    path = osp.join(work_dir, f'{stem}.onnx')
    if not osp.exists(path):
        export_network(model, path, shape, dynamic=dynamic, warp=warp)
    if precision == 'int8':
        int8 = osp.join(work_dir, f'{stem}.int8.onnx')
        if not osp.exists(int8):
            quantize_onnx(path, int8, 'static', calibration)
        path = int8
    return open_runtime(backend, path, threads, precision), path


def network_inputs(model, images, size=None):
    """``images`` (BGR uint8 H x W x 3 arrays, as mmcv reads them; resized
    to ``size`` = (H, W) first if given) as ``model``'s data preprocessor
    hands them to the network: channel order, mean and std from the
    model. Returns 1 x 3 x H x W float32 arrays."""
    preprocessor = model.data_preprocessor
    arrays = []
    for img in images:
        if size is not None:
            img = mmcv.imresize(img, (size[1], size[0]))
        chw = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        with torch.no_grad():
            batch = preprocessor(dict(inputs=[chw]), False)['inputs']
        arrays.append(batch.float().cpu().numpy())
    return arrays
