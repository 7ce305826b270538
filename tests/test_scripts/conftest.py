"""A fake machine for the install scripts: nvidia-smi, nvcc, torch, mmcv
and a pip that records its calls (and installs fake torch / mmcv), so the
choices are tested without installing anything."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from common import REPO

SCRIPTS = os.path.join(REPO, 'scripts')

FAKE_PIP = r"""
import json, os, sys
site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
keys = ('MMCV_WITH_OPS', 'FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST')
call = dict(args=sys.argv[1:], env={k: os.environ[k] for k in keys
                                    if k in os.environ})
with open(os.environ['FAKE_PIP_LOG'], 'a') as log:
    log.write(json.dumps(call) + '\n')
args = ' '.join(sys.argv[1:])
if '--dry-run' in args:
    sys.exit(0 if os.environ.get('FAKE_LOCAL_WHEEL') else 1)
stop = os.environ.get('FAKE_PIP_STOP')
if stop and stop in args:
    sys.exit(3)
def package(name, text):
    os.makedirs(os.path.join(site, name), exist_ok=True)
    with open(os.path.join(site, name, '__init__.py'), 'w') as f:
        f.write(text)
for arg in sys.argv[1:]:
    if arg.startswith('torch=='):
        cuda = None if arg.endswith('+cpu') else '13.0'
        package('torch', TORCH % (arg[7:], cuda))
    if arg.startswith('mmcv') or arg.endswith('mmcv-2.1.0'):
        ops = 'cuda' if os.environ.get('FORCE_CUDA') == '1' else 'cpu'
        package('mmcv', "__version__ = '2.1.0'\n")
        package('mmcv/ops', OPS % ops)
"""
TORCH = (
    'import types\n__version__ = %r\n'
    'version = types.SimpleNamespace(cuda=%r)\n'
)
OPS = (
    'def get_compiling_cuda_version():\n'
    "    return '13.0' if %r == 'cuda' else 'not available'\n"
)


def write_script(path, text):
    path.write_text('#!/bin/sh\n' + text)
    path.chmod(0o755)


class Machine:
    """``tmp_path``-backed fake machine; ``env`` runs a script on it."""

    def __init__(self, root):
        self.root = root
        self.site = root / 'site'
        self.bin = root / 'bin'
        self.log = root / 'pip.jsonl'
        (self.site / 'pip').mkdir(parents=True)
        self.bin.mkdir()
        (self.site / 'pip' / '__init__.py').write_text('')
        (self.site / 'pip' / '__main__.py').write_text(
            f'TORCH = {TORCH!r}\nOPS = {OPS!r}\n' + FAKE_PIP
        )
        for tool in ('dirname', 'rm', 'env', 'cat', 'mkdir'):
            os.symlink(shutil.which(tool), self.bin / tool)
        self.extra = dict(FAKE_PIP_LOG=str(self.log))

    def torch(self, cuda):
        (self.site / 'torch').mkdir(exist_ok=True)
        (self.site / 'torch' / '__init__.py').write_text(
            TORCH % ('2.13.0', cuda)
        )

    def nvcc(self, release):
        cuda_bin = self.root / 'cuda' / 'bin'
        cuda_bin.mkdir(parents=True)
        write_script(
            cuda_bin / 'nvcc',
            f'echo "Cuda compilation tools, release {release}, V{release}"\n',
        )
        os.symlink(cuda_bin / 'nvcc', self.bin / 'nvcc')

    def gpus(self, *caps):
        write_script(
            self.bin / 'nvidia-smi', ''.join(f'echo {c}\n' for c in caps)
        )

    def env(self, **extra):
        env = dict(
            PATH=str(self.bin), PYTHONPATH=str(self.site), MAX_JOBS='16'
        )
        env.update(self.extra, **extra)
        return env

    def run(self, argv, **extra):
        return subprocess.run(
            argv, env=self.env(**extra), capture_output=True, text=True
        )

    def script(self, name, *args, **extra):
        path = os.path.join(SCRIPTS, name)
        return self.run([sys.executable, path, *args], **extra)

    def index(self, *files):
        """A folder index (``file://``) whose torch page lists ``files``."""
        page = self.root / 'index' / 'torch'
        page.mkdir(parents=True)
        links = ''.join(f'<a href="{f}">{f}</a>\n' for f in files)
        (page / 'index.html').write_text(f'<html><body>\n{links}</body>')
        return (self.root / 'index').as_uri()

    def pip_calls(self):
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().split('\n')
                if line]  # fmt: skip


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path)
