"""scripts/install_env.sh's choices for GPU machines and interpreters,
with fake torch, nvcc, nvidia-smi and pythons: nothing is installed."""

import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from common import REPO

PLAN = osp.join(REPO, 'scripts', 'mmcv_build_env.py')


def script(path, text):
    path.write_text('#!/bin/sh\n' + text)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """``machine(cuda=None, nvcc=None, gpus=None)`` -> env for a fake
    torch built for ``cuda``, an nvcc of release ``nvcc`` and an
    nvidia-smi listing the compute capabilities ``gpus``."""

    def make(cuda=None, nvcc=None, gpus=None):
        fake = tmp_path / 'site' / 'torch'
        fake.mkdir(parents=True, exist_ok=True)
        (fake / '__init__.py').write_text(
            "import types\n__version__ = '2.5.1'\n"
            f'version = types.SimpleNamespace(cuda={cuda!r})\n'
        )
        bin_dir = tmp_path / 'bin'
        shutil.rmtree(bin_dir, ignore_errors=True)
        (bin_dir / 'cuda' / 'bin').mkdir(parents=True)
        if nvcc:
            script(
                bin_dir / 'cuda' / 'bin' / 'nvcc',
                'echo "nvcc: NVIDIA (R) Cuda compiler driver"\n'
                f'echo "Cuda compilation tools, release {nvcc}, V{nvcc}.1"\n',
            )
            os.symlink(bin_dir / 'cuda' / 'bin' / 'nvcc', bin_dir / 'nvcc')
        if gpus:
            lines = ''.join(f'echo {g}\n' for g in gpus)
            script(bin_dir / 'nvidia-smi', lines)
        env = dict(
            PATH=str(bin_dir),
            PYTHONPATH=str(tmp_path / 'site'),
            MAX_JOBS='16',
        )
        return env

    return make


def plan(env):
    proc = subprocess.run(
        [sys.executable, PLAN], env=env, capture_output=True, text=True
    )
    lines = proc.stdout.split()
    return proc.returncode, dict(x.split('=', 1) for x in lines), proc.stderr


def test_cpu_torch_builds_cpu_ops(machine):
    code, env, _ = plan(machine(cuda=None, nvcc='12.4', gpus=['9.0']))
    assert code == 0
    assert env == dict(MMCV_WITH_OPS='1', MAX_JOBS='16')


def test_cuda_torch_builds_for_the_visible_gpus(machine, tmp_path):
    code, env, _ = plan(machine(cuda='12.4', nvcc='12.6', gpus=['9.0', '8.0']))
    assert code == 0
    assert env['FORCE_CUDA'] == '1' and env['MMCV_WITH_OPS'] == '1'
    assert env['TORCH_CUDA_ARCH_LIST'] == '8.0;9.0'
    assert env['CUDA_HOME'] == str(tmp_path / 'bin' / 'cuda')
    assert env['MAX_JOBS'] == '16'
    # no GPU visible (a container build): the documented default
    code, env, _ = plan(machine(cuda='12.4', nvcc='12.4'))
    assert env['TORCH_CUDA_ARCH_LIST'] == '7.0;7.5;8.0;8.6;8.9;9.0'


@pytest.mark.parametrize(
    'nvcc, message',
    [
        (None, 'built for CUDA 12.4, but nvcc is not found: install the '
         'CUDA toolkit 12.x'),
        ('11.8', 'is CUDA 11.8, torch 2.5.1 is built for CUDA 12.4'),
    ],
)  # fmt: skip
def test_missing_or_mismatched_nvcc_stops_first(machine, nvcc, message):
    code, env, err = plan(machine(cuda='12.4', nvcc=nvcc, gpus=['9.0']))
    assert code == 1 and not env
    assert message in err


def run_plan(tmp_path, pythons, python=None):
    """``install_env.sh --plan`` for a new venv where the only pythons
    are ``pythons`` (name -> the version it reports)."""
    bin_dir = tmp_path / 'pybin'
    bin_dir.mkdir(exist_ok=True)
    for name, version in pythons.items():
        script(bin_dir / name, f'echo {version}\n')
    if not (bin_dir / 'dirname').exists():
        os.symlink(shutil.which('dirname'), bin_dir / 'dirname')
    env = dict(PATH=str(bin_dir))
    if python:
        env['PYTHON'] = python
    cmd = [shutil.which('bash'), osp.join(REPO, 'scripts', 'install_env.sh')]
    cmd.append('--plan')
    return subprocess.run(
        cmd + [str(tmp_path / 'venv')], env=env, capture_output=True, text=True
    )


def test_interpreter_choice(tmp_path):
    venv = tmp_path / 'venv'
    # the first supported one of 3.11, 3.12, 3.10; a wrong one is passed
    proc = run_plan(tmp_path, {'python3.11': '3.9', 'python3.12': '3.12'})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f'venv: {venv} with python3.12'
    assert not venv.exists()  # --plan installs nothing


def test_python_env_var(tmp_path):
    proc = run_plan(tmp_path, {'python3.10': '3.10', 'py39': '3.9'}, 'py39')
    assert proc.returncode == 1
    assert 'PYTHON=py39 is Python 3.9; sfseg supports 3.10, 3.11 and 3.12' in (
        proc.stderr
    )
    proc = run_plan(tmp_path, {}, 'python3.10')
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith('with python3.10')
    proc = run_plan(tmp_path, {}, 'nope')
    assert 'PYTHON=nope: not found' in proc.stderr


def test_no_supported_python(tmp_path):
    proc = run_plan(tmp_path, {'python3.11': '3.8'})
    assert proc.returncode == 1
    assert 'no python3.11, python3.12 or python3.10 found' in proc.stderr
