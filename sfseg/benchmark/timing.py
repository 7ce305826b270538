"""Timing one call (CUDA events on a GPU), the fp32 matmul peak, the CUDA
settings and the peak memory of one call."""

import time

import torch

from sfseg.acceleration.memory import (
    current_memory_bytes,
    peak_memory_bytes,
    reset_peak_memory,
)


def synchronize(device):
    """Wait for ``device``'s queued kernels (no-op on the CPU)."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(fn, device, event=None):
    """Seconds one call of ``fn`` takes on ``device``.

    CUDA: between a pair of ``torch.cuda.Event(enable_timing=True)``
    recorded on the current stream before and after the call (``event``
    replaces the class, for tests). CPU: wall clock around the call.
    """
    if torch.device(device).type == 'cuda':
        event = event or torch.cuda.Event
        start, end = event(enable_timing=True), event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3  # ms
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_peak(size=4096, repeats=3, device='cpu'):
    """Best fp32 GFLOP/s of a size x size by size x size matmul (on CUDA
    under the TF32 setting in force: :func:`configure_cuda`)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    synchronize(device)
    best = min(
        time_call(lambda: torch.mm(a, b), device) for _ in range(repeats)
    )
    return 2 * size**3 / best / 1e9


def configure_cuda(tf32):
    """cuDNN autotuning on, and TF32 for fp32 convolutions and matmuls
    on (``tf32``) or off; returns the settings as the report states
    them."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    return dict(cudnn_benchmark=True, tf32='on' if tf32 else 'off')


def run_with_peak_memory(fn, device):
    """``(fn() as float32, MB allocated at the peak of the call)``.

    CUDA: allocator peak above what was allocated before. CPU: peak
    resident set size above the resident size before (``None`` where the
    kernel's high-water mark cannot be reset).
    """
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        out = fn().float()
        return out, (torch.cuda.max_memory_allocated(device) - base) / 2**20
    base = current_memory_bytes() / 2**20
    tracked = reset_peak_memory()
    out = fn().float()
    return out, peak_memory_bytes() / 2**20 - base if tracked else None
