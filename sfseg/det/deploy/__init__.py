"""K-Net panoptic deployment: the network to ONNX (dynamic H and W), run
in ONNX Runtime or OpenVINO, with the detector's preprocessing and the
thing/stuff merge in Python. Not imported by ``import sfseg.det``.

- :mod:`.network`: :class:`KNetNetwork`, the traceable network
  (image batch -> last-stage class and mask logits) and the packed
  single output of the graph;
- :mod:`.export_dynamic_conv`: the update stages' dynamic convolution
  in an exportable form (attached to an export copy only);
- :mod:`.onnx_export`: :func:`export_knet`;
- :mod:`.runtime_network`: :class:`KNetPanopticNetwork`,
  ``predict(img) -> DetDataSample`` with the network in PyTorch or a
  runtime.
"""

from .export_dynamic_conv import (
    ExportKernelUpdateHead,
    dynamic_conv_export,
    use_export_dynamic_conv,
)
from .network import KNetNetwork, pack_outputs, unpack_outputs
from .onnx_export import export_knet, prepare_for_export
from .runtime_network import (
    KNetPanopticNetwork,
    build_knet_runtime,
    open_knet_runtime,
)

__all__ = [
    'ExportKernelUpdateHead',
    'KNetNetwork',
    'KNetPanopticNetwork',
    'build_knet_runtime',
    'dynamic_conv_export',
    'export_knet',
    'open_knet_runtime',
    'pack_outputs',
    'prepare_for_export',
    'unpack_outputs',
    'use_export_dynamic_conv',
]
