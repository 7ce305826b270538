"""Deployment: ONNX export, int8 quantisation and the CPU runtimes
(ONNX Runtime, OpenVINO), and AOTInductor packages. Not imported by
``import sfseg``."""

from .aoti_export import AOTIRunner, export_aoti
from .backends import (
    BACKENDS,
    ONNX_RUNTIMES,
    PRECISIONS_OF,
    RUNTIMES,
    resolve_precision,
)
from .export_warp import WARPS, GatherExportWarp, gather_sample
from .onnx_export import OPSETS, ExportWrapper, check_opset, export_onnx
from .pipeline import build_runtime_network, export_network, network_inputs
from .quantize import quantize_onnx
from .runtimes import OnnxRuntimeRunner, OpenVINORunner, open_runtime
from .verify import verify

__all__ = [
    'AOTIRunner',
    'BACKENDS',
    'ONNX_RUNTIMES',
    'export_aoti',
    'PRECISIONS_OF',
    'resolve_precision',
    'OPSETS',
    'RUNTIMES',
    'WARPS',
    'GatherExportWarp',
    'check_opset',
    'gather_sample',
    'verify',
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
