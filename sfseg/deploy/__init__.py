"""Deployment: ONNX export, int8 quantisation and the CPU runtimes
(ONNX Runtime, OpenVINO). Not imported by ``import sfseg``."""

from .onnx_export import ExportWrapper, export_onnx
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
    'OnnxRuntimeRunner',
    'OpenVINORunner',
    'export_onnx',
    'open_runtime',
    'quantize_onnx',
]
