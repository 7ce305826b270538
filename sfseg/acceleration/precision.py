"""Which runtime and numeric precision inference runs in on this machine.

bf16 halves the time on CPUs with native bf16 (AVX-512 BF16, AMX) and is
emulated, 8-10x slower than fp32, on the others (AVX2-only AMD EPYC,
docs/benchmark.md). ``auto`` therefore picks bf16 only where it is
native, and an explicit bf16 request on other CPUs is refused rather than
run slowly. int8 changes outputs beyond rounding (argmax agreement, not
max abs difference, is its measure), so ``auto`` never picks it: it is
asked for explicitly and runs in ONNX Runtime or OpenVINO.
"""

import contextlib

import torch

from sfseg.utils.user_errors import SFSegUserError

from . import cpu_info

PRECISIONS = ('auto', 'fp32', 'bf16', 'int8')
# precisions each backend can run (bf16 only where the CPU has it natively)
_SUPPORTED = {
    'pytorch': ('fp32', 'bf16'),
    'onnxruntime': ('fp32', 'int8'),
    'openvino': ('fp32', 'bf16', 'int8'),
}
BACKENDS = tuple(_SUPPORTED)


def resolve_precision(precision='auto', device='cpu', backend='pytorch'):
    """``'fp32'``, ``'bf16'`` or ``'int8'`` for ``precision`` on
    ``device`` with ``backend``."""
    if precision not in PRECISIONS:
        raise SFSegUserError(
            f'precision must be one of {PRECISIONS}, got {precision!r}'
        )
    if backend not in BACKENDS:
        raise SFSegUserError(
            f'backend must be one of {BACKENDS}, got {backend!r}'
        )
    on_cpu = str(device).startswith('cpu')
    if backend != 'pytorch' and not on_cpu:
        raise SFSegUserError(
            f'backend {backend} runs on the CPU here; use --device cpu '
            '(or the pytorch backend on the GPU)'
        )
    supported = _SUPPORTED[backend]
    native = cpu_info.has_native_bf16() if on_cpu else True
    if precision == 'auto':
        return 'bf16' if on_cpu and native and 'bf16' in supported else 'fp32'
    if precision not in supported:
        where = [b for b, p in _SUPPORTED.items() if precision in p]
        raise SFSegUserError(
            f'{precision} does not run in {backend}; use --backend '
            f'{" or ".join(where)}'
        )
    if precision == 'bf16' and not native:
        raise SFSegUserError(
            f'bf16 requested, but {cpu_info.cpu_model()} has no native bf16 '
            '(AVX-512 BF16 / AMX): it would run emulated, several times '
            'slower than fp32; use --precision auto or fp32'
        )
    return precision


def autocast_for(precision, device='cpu'):
    """The context that runs a PyTorch forward pass in ``precision``."""
    if precision == 'bf16':
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
