"""Deployment: ONNX export, int8 quantisation and the CPU runtimes
(ONNX Runtime, OpenVINO). Not imported by ``import sfseg``."""

from .onnx_export import ExportWrapper, export_onnx
from .pipeline import build_runtime_network, export_network, network_inputs
from .quantize import quantize_onnx
from .runtimes import (
    RUNTIMES,
    OnnxRuntimeRunner,
    OpenVINORunner,
    open_runtime,
)

__all__ = [
    'RUNTIMES',
    'ExportWrapper',
    'build_runtime_network',
    'export_network',
    'network_inputs',
    'OnnxRuntimeRunner',
    'OpenVINORunner',
    'export_onnx',
    'open_runtime',
    'quantize_onnx',
]
