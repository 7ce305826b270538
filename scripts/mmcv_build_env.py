"""Print the environment for building mmcv 2.1.0 with ops against the
installed torch (one ``KEY=VALUE`` per line), or stop with the reason.

A CPU torch gets ``MMCV_WITH_OPS=1`` (CPU ops). A CUDA torch gets the
CUDA build where it can run and compile: a GPU visible to ``nvidia-smi``
and an ``nvcc`` of torch's CUDA major version. It then adds
``FORCE_CUDA=1``, ``TORCH_CUDA_ARCH_LIST`` of the visible GPUs only and
``CUDA_HOME`` of that ``nvcc``. Without a GPU or such an ``nvcc``, a CUDA
torch gets CPU ops too, and the reason goes to stderr: mmcv's setup.py
would otherwise compile six CUDA architectures on a laptop, or fail after
minutes with a compiler error. ``FORCE_CUDA=1`` in the environment forces
the CUDA build (``TORCH_CUDA_ARCH_LIST`` or, with no GPU visible,
``DEFAULT_ARCHS``) and stops when ``nvcc`` is missing or of another major
version. ``MAX_JOBS`` comes from the cores.
Used by scripts/install_env.sh (``--plan`` prints the same).
"""

import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import warnings

# with FORCE_CUDA=1 and no GPU visible (a container build): Volta (V100),
# Turing (T4, TITAN RTX), Ampere (A100, RTX 30), Ada, Hopper
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


def cuda_refusal(cuda):
    """Why mmcv's CUDA ops cannot be compiled for a torch built for CUDA
    ``cuda``, or None."""
    torch = sys.modules['torch']
    nvcc = find_nvcc()
    major = cuda.split('.')[0]
    if nvcc is None:
        return (
            f'torch {torch.__version__} is built for CUDA {cuda}, but nvcc '
            f'is not found: install the CUDA toolkit {major}.x (or set '
            'CUDA_HOME)'
        )
    found = nvcc_version(nvcc)
    if found.split('.')[0] != major:
        return (
            f'nvcc ({nvcc}) is CUDA {found}, torch {torch.__version__} is '
            f"built for CUDA {cuda}: mmcv's ops must be compiled with the "
            f'same major version; install CUDA {major}.x or the torch built '
            f'for CUDA {found}'
        )
    return None


def plan(environ=os.environ):
    with warnings.catch_warnings():  # torch's "no numpy" before numpy is in
        warnings.simplefilter('ignore')
        import torch

    env = dict(MMCV_WITH_OPS='1')
    cuda = torch.version.cuda
    if cuda is None:
        return env
    forced = environ.get('FORCE_CUDA') == '1'
    archs = visible_archs()
    if not forced and archs is None:
        print(
            f'note: torch {torch.__version__} is a CUDA build but no GPU is '
            "visible: mmcv's ops are built for the CPU (FORCE_CUDA=1 "
            'builds the CUDA ops)',
            file=sys.stderr,
        )
        return env
    refusal = cuda_refusal(cuda)
    if refusal and forced:
        sys.exit(f'error: FORCE_CUDA=1: {refusal}')
    if refusal:
        print(
            f"note: {refusal}. mmcv's ops are built for the CPU now; "
            'rerun with FORCE_CUDA=1 once nvcc fits',
            file=sys.stderr,
        )
        return env
    env.update(
        FORCE_CUDA='1',
        CUDA_HOME=osp.dirname(osp.dirname(osp.realpath(find_nvcc()))),
        TORCH_CUDA_ARCH_LIST=environ.get('TORCH_CUDA_ARCH_LIST')
        or archs
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
