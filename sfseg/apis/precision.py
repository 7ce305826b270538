"""Which numeric precision inference runs in on this machine.

bf16 halves the time on CPUs with native bf16 (AVX-512 BF16, AMX) and is
emulated, 8-10x slower than fp32, on the others (AVX2-only AMD EPYC,
docs/benchmark.md). ``auto`` therefore picks bf16 only where it is
native, and an explicit bf16 request on other CPUs is refused rather than
run slowly.
"""

import contextlib

import torch

from sfseg.utils import cpu_info
from sfseg.utils.user_errors import SFSegUserError

PRECISIONS = ('auto', 'fp32', 'bf16')


def resolve_precision(precision='auto', device='cpu'):
    """``'fp32'`` or ``'bf16'`` for ``precision`` on ``device``."""
    if precision not in PRECISIONS:
        raise SFSegUserError(
            f'precision must be one of {PRECISIONS}, got {precision!r}'
        )
    on_cpu = str(device).startswith('cpu')
    native = cpu_info.has_native_bf16() if on_cpu else True
    if precision == 'auto':
        return 'bf16' if on_cpu and native else 'fp32'
    if precision == 'bf16' and not native:
        raise SFSegUserError(
            f'bf16 requested, but {cpu_info.cpu_model()} has no native bf16 '
            '(AVX-512 BF16 / AMX): it would run emulated, several times '
            'slower than fp32; use --precision auto or fp32'
        )
    return precision


def autocast_for(precision, device='cpu'):
    """The context that runs a forward pass in ``precision``."""
    if precision == 'bf16':
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
