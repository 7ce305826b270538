"""Detect graph capture (ONNX export, torch.export, jit tracing)."""

import torch


def is_tracing() -> bool:
    """True while the model is traced or exported rather than run eagerly.

    Shape-dependent shortcuts (cached grids, eager-only pooling) must be
    skipped then so that the captured graph stays shape-generic.
    """
    compiler = getattr(torch, 'compiler', None)
    exporting = getattr(compiler, 'is_exporting', None)
    compiling = getattr(compiler, 'is_compiling', None)
    return bool(
        torch.jit.is_tracing()
        or torch.onnx.is_in_onnx_export()
        or (exporting is not None and exporting())
        or (compiling is not None and compiling())
    )
