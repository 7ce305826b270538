"""One runner per benchmark variant, and the agreement of its output
with a reference."""

import copy
import os
import os.path as osp

import numpy as np
import torch
from mmengine.model import revert_sync_batchnorm

from sfseg.acceleration import (
    accelerate,
    autocast_for,
)

from .variants import VariantSkipped, variant_skip_reason


def variant_runner(model, variant, x, work_dir, threads=None, calib=()):
    """A callable that runs ``model`` on ``x`` as ``variant`` says and
    returns the logits (1 x K x h x w tensor on ``x``'s device).

    Args:
        model: an mmseg segmentor on ``x``'s device (left unchanged;
            SyncBN reverted and put in eval mode).
        variant (BenchmarkVariant): how to run it.
        x (Tensor): the 1 x 3 x H x W input.
        work_dir (str): where a runtime variant writes its ONNX files
            (``model.onnx``, ``model.int8.onnx``: one export and one
            quantisation per folder, shared by the variants).
        threads (int, optional): intra-op threads of a runtime.
        calib (list): 1 x 3 x H x W float32 arrays int8 is calibrated on.

    On CUDA a runtime variant runs ONNX Runtime's CUDA provider with IO
    binding (:func:`io_bound_runner`), or raises :class:`VariantSkipped`
    where it cannot (:func:`variant_skip_reason`).
    """
    model = revert_sync_batchnorm(model).eval()
    if variant.runs_in_pytorch:
        fast = accelerate(copy.deepcopy(model), variant.options)
        if variant.options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if variant.precision == 'fp32':
            return lambda: fast(x, None, mode='tensor')

        def run():
            with autocast_for(variant.precision, x.device):
                return fast(x, None, mode='tensor').float()

        return run
    from sfseg.deploy import build_runtime_network

    os.makedirs(work_dir, exist_ok=True)
    if x.device.type == 'cuda':
        return _onnxruntime_cuda_runner(model, variant, x, work_dir, threads)
    feed = x.cpu().numpy()

    def build():
        return build_runtime_network(
            model,
            variant.backend,
            work_dir,
            variant.precision,
            calib,
            threads,
            shape=tuple(x.shape[2:]),
            dynamic=False,
            warp=variant.warp,
        )[0]

    if variant.backend == 'aoti':  # compiled at the first call, as 'compile'
        built = []

        def compile_then_run():
            if not built:
                built.append(build())
            return torch.from_numpy(built[0](feed))

        return compile_then_run
    runner = build()
    return lambda: torch.from_numpy(runner(feed))


def _onnxruntime_cuda_runner(model, variant, x, work_dir, threads):
    """ONNX Runtime's CUDA provider on ``x`` with IO binding: the input
    and output stay in CUDA memory, so no host-device copy is timed."""
    from sfseg.deploy import OnnxRuntimeRunner, export_network

    reason = variant_skip_reason(variant, x.device)
    if reason:
        raise VariantSkipped(reason)
    onnx_file = osp.join(work_dir, f'model.{variant.warp}.onnx')
    if not osp.exists(onnx_file):
        export_network(
            model,
            onnx_file,
            tuple(x.shape[2:]),
            dynamic=False,
            warp=variant.warp,
        )
    index = x.device.index
    index = torch.cuda.current_device() if index is None else index
    provider = ('CUDAExecutionProvider', {'device_id': index})
    session = OnnxRuntimeRunner(
        onnx_file, threads, [provider, 'CPUExecutionProvider']
    ).session
    if session.get_providers()[0] != 'CUDAExecutionProvider':
        raise VariantSkipped(
            'skipped: ONNX Runtime could not start its CUDA provider '
            f'(session providers: {", ".join(session.get_providers())})'
        )
    return io_bound_runner(session, x)


def io_bound_runner(session, x):
    """A callable that runs ONNX Runtime ``session`` on tensor ``x`` with
    input and output bound to ``x``'s memory (CPU or CUDA) through
    ``session.io_binding()``, and returns the output tensor (the same
    tensor, overwritten, on every call): nothing is copied between host
    and device around the run."""
    x = x.float().contiguous()
    kind = x.device.type
    index = x.device.index or 0
    name = session.get_inputs()[0].name
    shape = session.get_outputs()[0].shape
    if not all(isinstance(d, int) for d in shape):  # one call tells
        shape = session.run(None, {name: x.cpu().numpy()})[0].shape
    out = torch.empty(tuple(shape), dtype=torch.float32, device=x.device)
    binding = session.io_binding()
    binding.bind_input(
        name, kind, index, np.float32, tuple(x.shape), x.data_ptr()
    )
    binding.bind_output(
        session.get_outputs()[0].name,
        kind,
        index,
        np.float32,
        tuple(out.shape),
        out.data_ptr(),
    )
    if kind == 'cuda':  # x and out were written on torch's stream
        torch.cuda.synchronize(x.device)

    def run():
        # ONNX Runtime synchronises its CUDA stream before returning
        session.run_with_iobinding(binding)
        return out

    run.inputs = x  # keeps the bound input alive
    return run


def output_agreement(out, ref):
    """``(max abs difference, share of pixels with the same argmax)`` of
    logits ``out`` against ``ref`` (N x K x H x W; ``out`` is resized
    bilinearly to ``ref``'s size first where the two differ)."""
    if out.shape != ref.shape:
        out = torch.nn.functional.interpolate(
            out, ref.shape[2:], mode='bilinear', align_corners=True
        )
    diff = float((out - ref).abs().max())
    return diff, float((out.argmax(1) == ref.argmax(1)).float().mean())
