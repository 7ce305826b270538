"""The machine a benchmark ran on: CPU, allocator, GPU, driver, cuDNN."""

import os
import subprocess

import torch

from sfseg.utils import cpu_info


def allocator():
    """The malloc in use, as far as the environment tells."""
    preload = os.environ.get('LD_PRELOAD', '')
    for name in ('jemalloc', 'tcmalloc', 'mimalloc'):
        if name in preload:
            return name
    return 'glibc' + (
        ' (tuned)' if os.environ.get('MALLOC_TRIM_THRESHOLD_') else ''
    )


def machine_description(device='cpu'):
    """What the report says of the machine: allocator, CPU and its ISA;
    on CUDA also the GPU (:func:`gpu_description`)."""
    description = dict(
        malloc_tuned=bool(os.environ.get('MALLOC_TRIM_THRESHOLD_')),
        allocator=allocator(),
        cpu=cpu_info.describe(),
        cpu_model=cpu_info.cpu_model(),
        isa=cpu_info.isa_extensions(),
        native_bf16=cpu_info.has_native_bf16(),
    )
    if torch.device(device).type == 'cuda':
        description.update(gpu_description(device))
    return description


def gpu_description(device):
    """GPU name, compute capability, memory, NVIDIA driver, and the CUDA
    and cuDNN versions torch runs with."""
    props = torch.cuda.get_device_properties(torch.device(device))
    return dict(
        gpu=props.name,
        gpu_capability=f'{props.major}.{props.minor}',
        gpu_memory_gib=round(props.total_memory / 2**30, 1),
        driver=nvidia_driver_version(),
        cuda=torch.version.cuda,
        cudnn=cudnn_version(),
    )


def nvidia_driver_version():
    """The NVIDIA driver's version (``nvidia-smi``), or ``'unknown'``."""
    try:
        proc = subprocess.run(
            [
                'nvidia-smi',
                '--query-gpu=driver_version',
                '--format=csv,noheader',
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    lines = proc.stdout.split()
    return lines[0] if proc.returncode == 0 and lines else 'unknown'


def cudnn_version():
    """cuDNN's version as ``'9.13.0'`` (``None`` without cuDNN)."""
    version = torch.backends.cudnn.version()
    if not version:
        return None
    major = version // 10000 if version >= 90000 else version // 1000
    rest = version % 10000 if version >= 90000 else version % 1000
    return f'{major}.{rest // 100}.{rest % 100}'
