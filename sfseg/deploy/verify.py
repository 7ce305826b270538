"""Check an exported graph in a runtime against PyTorch eager."""

import numpy as np
import torch

from .runtimes import open_runtime


def verify(wrapper, onnx_file, shapes, rtol=1e-4, runtime='onnxruntime'):
    """Run ``onnx_file`` in ``runtime`` (``'aoti'``: a ``.pt2`` package)
    and ``wrapper`` (the module that was exported, see
    :func:`~.onnx_export.export_onnx`) in PyTorch on the
    same seeded random inputs, one per (H, W) in ``shapes``.

    Returns ``{shape: max abs difference}`` of the logits, or the share of
    disagreeing labels for an ``argmax`` graph. Raises AssertionError
    naming the runtime and shape where the output shape differs or the
    logits differ by more than ``rtol`` times the largest |logit|.
    """
    runner = open_runtime(runtime, onnx_file)
    gen = torch.Generator().manual_seed(0)
    diffs = {}
    for shape in shapes:
        x = torch.randn(1, 3, *shape, generator=gen)
        with torch.no_grad():
            ref = wrapper(x).numpy()
        got = runner(x.numpy())
        if got.shape != ref.shape:
            raise AssertionError(
                f'{runtime} output shape {got.shape} != PyTorch '
                f'{ref.shape} at input {shape}'
            )
        if wrapper.argmax:
            diffs[shape] = float((got != ref).mean())  # disagreeing pixels
            continue
        diffs[shape] = float(np.abs(got - ref).max())
        largest = float(np.abs(ref).max())
        if diffs[shape] > rtol * largest:
            raise AssertionError(
                f'{runtime} differs from PyTorch by {diffs[shape]:.2e} '
                f'(> {rtol} x the largest logit {largest:.3g}) at input '
                f'{shape}'
            )
    return diffs
