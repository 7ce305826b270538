"""Print the environment for building mmcv 2.1.0 with ops against the
installed torch (one ``KEY=VALUE`` per line), or stop with the reason.

A CPU torch gets ``MMCV_WITH_OPS=1``. A CUDA torch gets the CUDA build:
``FORCE_CUDA=1`` (setup.py would otherwise build CPU-only ops whenever
it sees no GPU, e.g. in a container build), ``TORCH_CUDA_ARCH_LIST`` from
the visible GPUs (``nvidia-smi``) or, with none visible, ``DEFAULT_ARCHS``
(V100 to H100), ``CUDA_HOME`` of the ``nvcc`` found, and ``MAX_JOBS``
from the cores. It stops when ``nvcc`` is missing or its CUDA major
version differs from the one torch was built with, which mmcv's build
would only report after minutes, as a compiler error.
Used by scripts/install_env.sh.
"""

import os
import os.path as osp
import re
import shutil
import subprocess
import sys

# Volta (V100), Turing (T4, TITAN RTX), Ampere (A100, RTX 30), Ada, Hopper
DEFAULT_ARCHS = '7.0;7.5;8.0;8.6;8.9;9.0'


def find_nvcc():
    home = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    if home and osp.isfile(osp.join(home, 'bin', 'nvcc')):
        return osp.join(home, 'bin', 'nvcc')
    return shutil.which('nvcc')


def nvcc_version(nvcc):
    out = subprocess.run([nvcc, '--version'], capture_output=True, text=True)
    found = re.search(r'release (\d+)\.(\d+)', out.stdout)
    if found is None:
        sys.exit(f'error: cannot read the CUDA version from {nvcc} --version')
    return f'{found.group(1)}.{found.group(2)}'


def visible_archs():
    smi = shutil.which('nvidia-smi')
    if smi is None:
        return None
    out = subprocess.run(
        [smi, '--query-gpu=compute_cap', '--format=csv,noheader'],
        capture_output=True,
        text=True,
    )
    caps = sorted({c.strip() for c in out.stdout.split() if c.strip()})
    return ';'.join(caps) if out.returncode == 0 and caps else None


def plan():
    import torch

    env = dict(MMCV_WITH_OPS='1')
    cuda = torch.version.cuda
    if cuda is None:
        return env
    nvcc = find_nvcc()
    if nvcc is None:
        sys.exit(
            f'error: torch {torch.__version__} is built for CUDA {cuda}, '
            'but nvcc is not found: install the CUDA toolkit '
            f'{cuda.split(".")[0]}.x (or set CUDA_HOME), or install a CPU '
            'torch'
        )
    found = nvcc_version(nvcc)
    if found.split('.')[0] != cuda.split('.')[0]:
        sys.exit(
            f'error: nvcc ({nvcc}) is CUDA {found}, torch '
            f"{torch.__version__} is built for CUDA {cuda}: mmcv's ops "
            'must be compiled with the same major version; install CUDA '
            f'{cuda.split(".")[0]}.x or the torch built for CUDA {found}'
        )
    env.update(
        FORCE_CUDA='1',
        CUDA_HOME=osp.dirname(osp.dirname(osp.realpath(nvcc))),
        TORCH_CUDA_ARCH_LIST=os.environ.get('TORCH_CUDA_ARCH_LIST')
        or visible_archs()
        or DEFAULT_ARCHS,
    )
    return env


def main():
    env = plan()
    env['MAX_JOBS'] = os.environ.get('MAX_JOBS') or str(os.cpu_count() or 2)
    for key, value in env.items():
        print(f'{key}={value}')


if __name__ == '__main__':
    main()
