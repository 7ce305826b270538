"""scripts/install_env.sh end to end on a fake machine (a real empty venv,
fake pip / torch / mmcv / nvidia-smi / nvcc): which torch and which mmcv
build each machine gets; and the interpreter choice. Nothing is
installed: the fake pip stops the run after mmcv."""

import os
import os.path as osp
import shutil
import subprocess
import sys

from common import REPO

INSTALL = osp.join(REPO, 'scripts', 'install_env.sh')


def install(machine, **extra):
    venv = machine.root / 'venv'
    if not venv.exists():
        subprocess.run(
            [sys.executable, '-m', 'venv', '--without-pip', str(venv)],
            check=True,
        )
    proc = machine.run(
        [shutil.which('bash'), INSTALL, str(venv)],
        FAKE_PIP_STOP='requirements/runtime.txt',
        # the index release on any Python (3.13's mended one:
        # test_mmcv_source.py), nothing fetched
        SFSEG_MMCV_SOURCE='mmcv==2.1.0',
        **extra,
    )
    assert proc.returncode == 3, proc.stderr  # the fake pip's stop
    calls = [c for c in machine.pip_calls() if '--dry-run' not in c['args']]
    return proc.stdout, calls


def installed(calls, what):
    return [
        c
        for c in calls
        if 'install' in c['args']
        and any(a.startswith(what) for a in c['args'])
    ]


def test_no_gpu_gets_the_cpu_torch_and_cpu_ops(machine):
    out, calls = install(machine, FAKE_LOCAL_WHEEL='1')
    assert '==> installing torch 2.13.0+cpu (no NVIDIA GPU' in out
    assert '==> installed torch 2.13.0+cpu (CPU)' in out
    (torch,) = installed(calls, 'torch')
    assert torch['args'][-1] == 'torch==2.13.0+cpu'
    (mmcv,) = installed(calls, 'mmcv')
    assert '==> building mmcv 2.1.0 with CPU ops from mmcv==2.1.0' in out
    assert mmcv['env'] == dict(MMCV_WITH_OPS='1')
    assert '--no-cache-dir' not in mmcv['args']  # the cached CPU build


def test_gpu_gets_the_cuda_torch_and_cuda_ops(machine):
    machine.gpus('9.0')
    machine.nvcc('13.0')
    out, calls = install(machine)
    assert '==> installed torch 2.13.0 (CUDA 13.0)' in out
    (torch,) = installed(calls, 'torch')
    assert torch['args'][-1] == 'torch==2.13.0'
    (mmcv,) = installed(calls, 'mmcv')
    assert mmcv['env'] == dict(
        MMCV_WITH_OPS='1', FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0'
    )
    assert '--no-cache-dir' in mmcv['args']


def test_cuda_torch_without_gpu_builds_cpu_ops_once(machine):
    machine.torch('13.0')  # the user's own CUDA torch, kept
    machine.nvcc('13.0')
    out, calls = install(machine)
    assert '==> torch 2.13.0 (CUDA 13.0) present' in out
    assert installed(calls, 'torch') == []
    (mmcv,) = installed(calls, 'mmcv')
    assert mmcv['env'] == dict(MMCV_WITH_OPS='1')
    assert '==> building mmcv 2.1.0 with CPU ops' in out
    # never a wheel cached for another torch; mmcv's own needs installed
    assert '--no-cache-dir' in mmcv['args'] and '--no-deps' not in mmcv['args']
    machine.log.unlink()
    out, calls = install(machine)  # again: nothing rebuilt
    assert '==> mmcv 2.1.0 with CPU ops present' in out
    assert installed(calls, 'mmcv') == []


def run_plan(tmp_path, pythons, python=None):
    """``install_env.sh --plan`` for a new venv where the only pythons
    are ``pythons`` (name -> the version it reports)."""
    bin_dir = tmp_path / 'pybin'
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir()
    for name, version in pythons.items():
        path = bin_dir / name
        path.write_text(
            f'#!/bin/sh\nif [ "$1" = -c ]; then echo {version}; fi\n'
        )
        path.chmod(0o755)
    os.symlink(shutil.which('dirname'), bin_dir / 'dirname')
    env = dict(PATH=str(bin_dir))
    if python:
        env['PYTHON'] = python
    cmd = [shutil.which('bash'), INSTALL, '--plan', str(tmp_path / 'venv')]
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def test_interpreter_choice(tmp_path):
    venv = tmp_path / 'venv'
    # the first supported one of 3.11, 3.12, 3.10, 3.13; a wrong one passed
    proc = run_plan(tmp_path, {'python3.11': '3.9', 'python3.12': '3.12'})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split('\n')[0] == f'venv: {venv} with python3.12'
    assert not venv.exists()  # --plan installs nothing
    proc = run_plan(tmp_path, {'python3.11': '3.14', 'python3.13': '3.13'})
    assert proc.stdout.split('\n')[0] == f'venv: {venv} with python3.13'


def test_python_env_var(tmp_path):
    proc = run_plan(tmp_path, {'python3.10': '3.10', 'py39': '3.9'}, 'py39')
    assert proc.returncode == 1
    assert 'PYTHON=py39 is Python 3.9; sfseg supports 3.10 to 3.13' in (
        proc.stderr
    )
    proc = run_plan(tmp_path, {'python3.10': '3.10'}, 'python3.10')
    assert proc.returncode == 0
    assert proc.stdout.split('\n')[0].endswith('with python3.10')
    proc = run_plan(tmp_path, {}, 'nope')
    assert 'PYTHON=nope: not found' in proc.stderr


def test_no_supported_python(tmp_path):
    proc = run_plan(tmp_path, {'python3.11': '3.8'})
    assert proc.returncode == 1
    assert (
        'no python3.11, python3.12, python3.10 or python3.13 found'
        in proc.stderr
    )


def test_plan_names_the_cpu_build(machine):
    """--plan on a machine without a GPU and without a local wheel."""
    index = machine.root.as_uri() + '/unreachable'
    bash = shutil.which('bash')
    proc = machine.run(
        [bash, INSTALL, '--plan', str(machine.root / 'venv')],
        PYTHON=sys.executable,
        SFSEG_TORCH_INDEX=index,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split('\n')
    assert lines[1].startswith(
        'torch: the install would stop: no NVIDIA GPU: nvidia-smi not '
        f'found, so torch 2.13.0+cpu is needed, but the CPU wheel index '
        f'{index} does not serve it'
    )
    assert not (machine.root / 'venv').exists()
