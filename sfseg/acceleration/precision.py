"""Which numeric precision inference runs in on this machine.

bf16 halves the time on CPUs with native bf16 (AVX-512 BF16, AMX) and is
emulated, 8-10x slower than fp32, on the others (AVX2-only AMD EPYC,
docs/benchmark.md). ``auto`` therefore picks bf16 only where it is
native, and an explicit bf16 request on other CPUs is refused rather than
run slowly. int8 changes outputs beyond rounding (argmax agreement, not
max abs difference, is its measure), so ``auto`` never picks it: it is
asked for explicitly and runs in ONNX Runtime or OpenVINO.

On a CUDA device (PyTorch only) ``auto`` picks fp16, which every GPU
since Pascal runs with tensor-core or native half arithmetic; bf16 runs
where ``torch.cuda.is_bf16_supported(including_emulation=False)``
(Ampere and later) and is
refused, naming the GPU, on the others (V100, TITAN RTX, 1080 Ti: the
paper's GPUs), which would otherwise fail inside PyTorch. fp16 is CUDA
only: CPUs run it emulated.
"""

import contextlib

import torch

from sfseg.utils import cpu_info
from sfseg.utils.user_errors import SFSegUserError

PRECISIONS = ('auto', 'fp32', 'fp16', 'bf16', 'int8')
# what PyTorch runs (bf16 only where the CPU has it natively, fp16 only on
# CUDA); the runtimes' precisions are sfseg.deploy.backends'
PYTORCH_PRECISIONS = ('fp32', 'fp16', 'bf16')


def resolve_for_device(
    precision='auto',
    device='cpu',
    supported=PYTORCH_PRECISIONS,
    backend='pytorch',
    alternatives=(),
):
    """``'fp32'``, ``'bf16'`` or ``'int8'`` for ``precision`` on
    ``device`` where ``backend`` runs ``supported``; ``alternatives``
    names the backends to suggest when it does not run ``precision``."""
    if precision not in PRECISIONS:
        raise SFSegUserError(
            f'precision must be one of {PRECISIONS}, got {precision!r}'
        )
    on_cpu = str(device).startswith('cpu')
    if str(device).startswith('cuda'):
        return _resolve_cuda(precision, device)
    if precision == 'fp16':
        raise SFSegUserError(
            'fp16 runs on CUDA devices only (a CPU would emulate it); use '
            '--precision auto, fp32 or bf16 on the CPU'
        )
    native = cpu_info.has_native_bf16() if on_cpu else True
    if precision == 'auto':
        return 'bf16' if on_cpu and native and 'bf16' in supported else 'fp32'
    if precision not in supported:
        raise SFSegUserError(
            f'{precision} does not run in {backend}; use --backend '
            f'{" or ".join(alternatives)}'
        )
    if precision == 'bf16' and not native:
        raise SFSegUserError(
            f'bf16 requested, but {cpu_info.cpu_model()} has no native bf16 '
            '(AVX-512 BF16 / AMX): it would run emulated, several times '
            'slower than fp32; use --precision auto or fp32'
        )
    return precision


def _resolve_cuda(precision, device):
    if not torch.cuda.is_available():  # torch's own error names no fix
        build = torch.version.cuda
        raise SFSegUserError(
            f'--device {device}: torch {torch.__version__} '
            + (f'(CUDA {build}) sees no GPU' if build else 'has no CUDA')
            + '; use --device cpu'
        )
    name = torch.cuda.get_device_name(torch.device(device))
    if precision == 'auto':
        return 'fp16'
    if precision == 'int8':
        raise SFSegUserError(
            f'int8 does not run on {name} here: it runs in ONNX Runtime or '
            'OpenVINO on the CPU (--device cpu --backend onnxruntime)'
        )
    if precision == 'bf16' and not torch.cuda.is_bf16_supported(
        including_emulation=False
    ):
        raise SFSegUserError(
            f'bf16 requested, but {name} has no bf16 support (it needs '
            'compute capability 8.0, Ampere, or later); use --precision '
            'auto or fp16'
        )
    return precision


def autocast_for(precision, device='cpu'):
    """The context that runs a PyTorch forward pass in ``precision``."""
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16).get(precision)
    if dtype is not None:
        return torch.autocast(torch.device(device).type, dtype=dtype)
    return contextlib.nullcontext()
