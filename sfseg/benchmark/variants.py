"""The benchmark's variants: how one runs a segmentor, and which
variants cannot run on a machine and why."""

import dataclasses
from dataclasses import replace

import torch

from sfseg.acceleration import (
    AccelerationOptions,
)
from sfseg.deploy import PRECISIONS_OF
from sfseg.deploy.runtimes import runtime_refusal
from sfseg.utils import cpu_info


@dataclasses.dataclass(frozen=True)
class BenchmarkVariant:
    """How one benchmark variant runs a segmentor.

    Args:
        options (AccelerationOptions): what :func:`accelerate` does to a
            copy of the model (``backend='pytorch'``). The runtime
            backends run the export of :func:`sfseg.deploy.export_network`,
            which always applies the defaults, so only those are accepted
            there.
        backend (str): ``'pytorch'``, ``'onnxruntime'``, ``'openvino'``
            or ``'aoti'``.
        precision (str): ``'fp32'``; ``'fp16'`` (PyTorch autocast, CUDA
            only); ``'bf16'`` (PyTorch: autocast; OpenVINO: its bf16
            hint); ``'int8'`` (runtimes: static QDQ quantisation).
        warp (str): how a runtime variant's graph warps: ``'gridsample'``
            (ONNX GridSample) or ``'gather'`` (no GridSample,
            :mod:`sfseg.deploy.export_warp`).
    """

    options: AccelerationOptions = AccelerationOptions()
    backend: str = 'pytorch'
    precision: str = 'fp32'
    warp: str = 'gridsample'

    def __post_init__(self):
        if self.backend not in PRECISIONS_OF:
            raise ValueError(f'backend must be one of {tuple(PRECISIONS_OF)}')
        if self.precision not in PRECISIONS_OF[self.backend]:
            raise ValueError(
                f'precision {self.precision!r} does not run in {self.backend}'
            )
        if not self.runs_in_pytorch and self.options != AccelerationOptions():
            raise ValueError(
                'runtime variants run the default export; options apply '
                'to the pytorch backend only'
            )
        if self.runs_in_pytorch and self.warp != 'gridsample':
            raise ValueError('warp applies to the runtime backends only')

    @property
    def runs_in_pytorch(self):
        return self.backend == 'pytorch'


class VariantSkipped(Exception):
    """A variant that cannot run on this machine; the message says why
    (the benchmark reports it and goes on)."""


def bf16_skip_reason(device, force=False):
    """Why bf16 is not timed on the CPU ``device`` (``None``: it is).

    bf16 without AVX-512 BF16 / AMX is emulated and several times slower
    than fp32, so timing it would only mislead; ``force`` times it anyway.
    """
    if torch.device(device).type != 'cpu' or force:
        return None
    if cpu_info.has_native_bf16():
        return None
    return (
        f'skipped: no native bf16 on {cpu_info.cpu_model()} '
        f'({", ".join(cpu_info.isa_extensions()) or "no AVX2"}); '
        '--force-bf16 times the emulated path'
    )


def variant_skip_reason(variant, device, force_bf16=False):
    """Why ``variant`` is not timed on ``device`` (``None``: it is).

    CPU: fp16 (CUDA only), emulated bf16 (:func:`bf16_skip_reason`) and
    a runtime that cannot run in this process
    (:func:`~sfseg.deploy.runtimes.runtime_refusal`).
    CUDA: bf16 on GPUs without native bf16 (compute capability below 8.0),
    int8 and OpenVINO (CPU only), and ONNX Runtime without its CUDA
    provider (the ``onnxruntime-gpu`` build).
    """
    device = torch.device(device)
    if device.type != 'cuda':
        if variant.precision == 'fp16':
            return (
                'skipped: fp16 runs on CUDA only (a CPU emulates it, '
                'many times slower than fp32)'
            )
        if variant.precision == 'bf16':
            return bf16_skip_reason(device, force_bf16)
        if variant.options.compile_mode is not None:
            return (
                f'skipped: compile mode {variant.options.compile_mode!r} '
                'is for CUDA (a CPU compiles with freezing)'
            )
        refusal = runtime_refusal(variant.backend)
        return f'skipped: {refusal}' if refusal else None
    if not variant.runs_in_pytorch:
        return _cuda_runtime_skip_reason(variant)
    if variant.precision == 'bf16' and not torch.cuda.is_bf16_supported(
        including_emulation=False
    ):
        return (
            f'skipped: no native bf16 on {torch.cuda.get_device_name(device)}'
            ' (compute capability 8.0, Ampere, or later)'
        )
    return None


def _cuda_runtime_skip_reason(variant):
    if variant.backend != 'onnxruntime' or variant.precision != 'fp32':
        return (
            f'skipped: {variant.backend} {variant.precision} runs on the '
            'CPU only (--device cpu)'
        )
    try:
        import onnxruntime as ort
    except ImportError:
        return 'skipped: onnxruntime is not installed'
    providers = ort.get_available_providers()
    if 'CUDAExecutionProvider' not in providers:
        return (
            f'skipped: onnxruntime {ort.__version__} has no '
            f'CUDAExecutionProvider ({", ".join(providers)}); '
            'onnxruntime-gpu has it'
        )
    return None


_PLAIN = AccelerationOptions(
    drop_training=False,
    fold_bn=False,
    low_res_fusion=False,
    gather_warp=False,
    grid_cache=False,
    separable_max_pool=False,
)
_FAST = AccelerationOptions(channels_last=True, nnpack=True)
# name -> BenchmarkVariant (docs/benchmark.md); a new variant goes here
VARIANTS = {
    # the paper's modules as built (eval, NCHW fp32)
    'nocache': BenchmarkVariant(_PLAIN),
    # as built, with cached flow grids
    'eager': BenchmarkVariant(replace(_PLAIN, grid_cache=True)),
    # BN folded into convs
    'fold': BenchmarkVariant(AccelerationOptions(low_res_fusion=False)),
    # folded, NCHW, NNPACK's FFT / Winograd kernels where they time faster,
    # separable max pooling: the layout tuner's other layout
    'nnpack': BenchmarkVariant(AccelerationOptions(nnpack=True)),
    # folded + channels-last, NNPACK for the widest 3x3 convolutions where
    # faster (timed in the warm-up), the fusion conv at the coarse sizes
    'fast': BenchmarkVariant(_FAST),
    # fast with the fusion conv over the upsampled concatenation
    'fast-concat': BenchmarkVariant(replace(_FAST, low_res_fusion=False)),
    # fast with oneDNN only
    'fast-onednn': BenchmarkVariant(replace(_FAST, nnpack=False)),
    # fast-onednn compiled with torch.compile (Inductor, freezing on CPU;
    # the first call compiles: first_call_s in the JSON)
    'compile': BenchmarkVariant(replace(_FAST, nnpack=False, compile=True)),
    # compiled under fp16 autocast, and with CUDA graphs (CUDA only)
    'compile-fp16': BenchmarkVariant(
        replace(_FAST, nnpack=False, compile=True), precision='fp16'
    ),
    'compile-cudagraphs': BenchmarkVariant(
        replace(
            _FAST, nnpack=False, compile=True, compile_mode='reduce-overhead'
        )
    ),
    # folded + channels-last under bf16 / fp16 (CUDA only) autocast
    'bf16': BenchmarkVariant(replace(_FAST, nnpack=False), precision='bf16'),
    'fp16': BenchmarkVariant(replace(_FAST, nnpack=False), precision='fp16'),
    # the folded model's export in ONNX Runtime and OpenVINO, fp32 and
    # static QDQ int8 (one quantised file, calibrated on the input kind)
    'onnx': BenchmarkVariant(backend='onnxruntime'),
    'int8': BenchmarkVariant(backend='onnxruntime', precision='int8'),
    'openvino': BenchmarkVariant(backend='openvino'),
    'openvino-int8': BenchmarkVariant(backend='openvino', precision='int8'),
    # the same exports with the flow warp as Gather, no GridSample node
    'onnx-gather': BenchmarkVariant(backend='onnxruntime', warp='gather'),
    'openvino-gather': BenchmarkVariant(backend='openvino', warp='gather'),
    # the folded network compiled ahead of time by Inductor into a .pt2
    # package at the input size (the first call compiles: first_call_s)
    'aoti': BenchmarkVariant(backend='aoti'),
}


def skipped_variants(variants, device, force_bf16=False):
    """``{variant: reason}`` for the variants that do not run on
    ``device`` (:func:`variant_skip_reason`)."""
    reasons = {
        v: variant_skip_reason(VARIANTS[v], device, force_bf16)
        for v in variants
    }
    return {v: reason for v, reason in reasons.items() if reason}
