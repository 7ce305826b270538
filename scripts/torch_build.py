"""Choose the torch build for this machine; print what will be installed
on the first line and pip's arguments for it on the next ones, or stop
with the reason.

On Linux, PyPI's ``torch`` is the CUDA build (several GB of nvidia-*
wheels), so a machine without an NVIDIA GPU gets ``torch==2.13.0+cpu``:
from pip's own sources when they hold it (a local wheel folder, a
mirror), else from PyTorch's CPU wheel index (``SFSEG_TORCH_INDEX``,
default ``CPU_INDEX``), which is looked at first, so that an index that
cannot be reached stops the install before pip downloads anything. The
``+cpu`` pin means no source can hand over a CUDA build instead.
A machine where ``nvidia-smi`` lists a GPU gets PyPI's CUDA build.
``SFSEG_TORCH=cpu`` or ``cuda`` overrides the choice.

    python scripts/torch_build.py [--plan]

``--plan`` reports the same choice and never fails. Used by
scripts/install_env.sh.
"""

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

from mmcv_build_env import visible_archs

VERSION = '2.13.0'
CPU_INDEX = 'https://download.pytorch.org/whl/cpu'
CPU_PIN = f'torch=={VERSION}+cpu'


class Refusal(Exception):
    """Why the CPU build cannot be installed here."""


def local_cpu_wheel():
    """Whether pip, without asking any index, finds the CPU wheel (its
    find-links folders; ``--no-index`` leaves them on)."""
    cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--quiet']
    cmd += ['--no-index', '--no-deps', '--ignore-installed', CPU_PIN]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode == 0


def index_lists_wheel(index):
    """Stop unless ``index``'s torch page lists a CPU wheel for this
    interpreter."""
    url = index.rstrip('/') + '/torch/'
    if url.startswith('file:'):  # a folder index, read as pip reads it
        url += 'index.html'
    try:
        with urllib.request.urlopen(url, timeout=30) as page:
            text = page.read().decode('utf-8', 'replace')
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, 'reason', err)
        raise Refusal(f'{url} cannot be read ({reason})') from None
    tag = 'cp%d%d' % sys.version_info[:2]
    for version in (f'{VERSION}+cpu', f'{VERSION}%2Bcpu'):
        if f'torch-{version}-{tag}-{tag}-' in text:
            return
    raise Refusal(f'{url} lists no torch {VERSION}+cpu wheel for {tag}')


def choose(env=os.environ):
    """-> (what, reason, pip arguments); raises Refusal."""
    forced = env.get('SFSEG_TORCH', '').lower()
    if forced not in ('', 'cpu', 'cuda'):
        raise Refusal(f'SFSEG_TORCH={forced!r}: use cpu or cuda')
    gpus = visible_archs()
    if forced == 'cuda' or (not forced and gpus):
        why = 'SFSEG_TORCH=cuda' if forced else f'NVIDIA GPU(s) {gpus}'
        return f'torch {VERSION} CUDA build', why, [f'torch=={VERSION}']
    if forced:
        why = 'SFSEG_TORCH=cpu'
    elif shutil.which('nvidia-smi') is None:
        why = 'no NVIDIA GPU: nvidia-smi not found'
    else:
        why = 'no NVIDIA GPU: nvidia-smi lists none'
    what = f'torch {VERSION}+cpu'
    if local_cpu_wheel():
        return what, f'{why}; pip finds the wheel locally', [CPU_PIN]
    index = env.get('SFSEG_TORCH_INDEX') or CPU_INDEX
    try:
        index_lists_wheel(index)
    except Refusal as err:
        raise Refusal(
            f'{why}, so torch {VERSION}+cpu is needed, but the CPU wheel '
            f'index {index} does not serve it: {err}. Set '
            'SFSEG_TORCH_INDEX to a reachable copy of that index, put the '
            'wheel in a folder pip reads (PIP_FIND_LINKS), or install a '
            'CPU torch into the venv first; PyPI would give the CUDA build'
        ) from None
    return what, f'{why}; from {index}', [CPU_PIN, '--extra-index-url', index]


def main(argv):
    plan = argv[1:] == ['--plan']
    try:
        what, why, args = choose()
    except Refusal as err:
        if plan:
            print(f'torch: the install would stop: {err}')
            return 0
        print(f'error: {err}', file=sys.stderr)
        return 1
    if plan:
        print(f'torch: {what} ({why})')
        return 0
    print(f'{what} ({why})')
    print('\n'.join(args))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
