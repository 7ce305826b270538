"""What the CPU can run natively: model name and the ISA extensions that
decide which precision is fast (speed figures must name them).

bf16 is only fast with native bf16 instructions (AVX-512 BF16 or AMX);
without them PyTorch emulates it and runs several times slower than fp32.
"""

import functools
import os
import platform

import torch

# /proc/cpuinfo flag -> name used in reports
FLAGS = {
    'avx2': 'AVX2',
    'avx512f': 'AVX-512',
    'avx512_vnni': 'AVX-512 VNNI',
    'avx_vnni': 'AVX-VNNI',
    'avx512_bf16': 'AVX-512 BF16',
    'amx_bf16': 'AMX-BF16',
    'amx_int8': 'AMX-INT8',
}


@functools.lru_cache(maxsize=None)
def _cpuinfo():
    """``(model name, set of flags)`` from /proc/cpuinfo ('' and an empty
    set where it does not exist)."""
    try:
        with open('/proc/cpuinfo') as f:
            text = f.read()
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    model, flags = '', set()
    for line in text.splitlines():
        key, _, value = line.partition(':')
        key = key.strip()
        if key == 'model name' and not model:
            model = value.strip()
        elif key in ('flags', 'Features') and not flags:
            flags = set(value.split())
    return model or platform.machine(), frozenset(flags)


def cpu_model():
    return _cpuinfo()[0]


def isa_extensions():
    """Report names of the extensions in :data:`FLAGS` this CPU has."""
    flags = _cpuinfo()[1]
    return [name for flag, name in FLAGS.items() if flag in flags]


def has_native_bf16():
    flags = _cpuinfo()[1]
    return bool({'avx512_bf16', 'amx_bf16'} & flags)


def describe():
    """One line for reports, e.g. ``AMD EPYC (AVX2; no native bf16;
    PyTorch kernels: AVX2)``."""
    ext = isa_extensions()
    parts = [', '.join(ext) if ext else 'no AVX2']
    if not has_native_bf16():
        parts.append('no native bf16')
    capability = getattr(torch.backends.cpu, 'get_cpu_capability', None)
    if capability is not None:
        parts.append(f'PyTorch kernels: {capability()}')
    return f'{cpu_model()} ({"; ".join(parts)})'


def kernel_isa():
    """The ISA of the kernels in effect: ATen's CPU capability and the
    oneDNN limit (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``), e.g.
    ``'avx512-native'`` or ``'avx2-avx2'``."""
    onednn = os.environ.get('ONEDNN_MAX_CPU_ISA') or 'native'
    return f'{torch.backends.cpu.get_cpu_capability()}-{onednn}'.lower()


def key_inductor_cache():
    """Give Inductor an on-disk cache per :func:`kernel_isa`.

    Inductor's cache key leaves out the oneDNN / ATen ISA limits, so a
    graph compiled with AVX-512 kernels was reused by a run limited to
    AVX2 and crashed it (a segmentation fault). A cache folder set by the
    user is kept; torch's default gets a sub-folder per ISA. Call before
    the first compilation; -> the folder."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    chosen = os.environ.get('TORCHINDUCTOR_CACHE_DIR')
    default = default_cache_dir()
    if chosen and os.path.dirname(chosen) != default and chosen != default:
        return chosen
    folder = os.path.join(default, kernel_isa())
    os.environ['TORCHINDUCTOR_CACHE_DIR'] = folder
    return folder
