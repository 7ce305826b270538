"""scripts/mmcv_build_env.py: CUDA ops only where a GPU and a matching
nvcc are at hand (or FORCE_CUDA=1), CPU ops otherwise, saying why."""

import pytest


def plan(machine, **extra):
    proc = machine.script('mmcv_build_env.py', **extra)
    lines = proc.stdout.split()
    return proc.returncode, dict(x.split('=', 1) for x in lines), proc.stderr


def test_cpu_torch_builds_cpu_ops(machine):
    machine.torch(None)
    machine.nvcc('12.4')
    machine.gpus('9.0')
    code, env, _ = plan(machine)
    assert code == 0
    assert env == dict(MMCV_WITH_OPS='1', MAX_JOBS='16')


def test_cuda_torch_builds_for_the_visible_gpus_only(machine):
    machine.torch('12.4')
    machine.nvcc('12.6')
    machine.gpus('9.0', '8.0', '9.0')
    code, env, err = plan(machine)
    assert code == 0 and err == ''
    assert env['FORCE_CUDA'] == '1' and env['MMCV_WITH_OPS'] == '1'
    assert env['TORCH_CUDA_ARCH_LIST'] == '8.0;9.0'
    assert env['CUDA_HOME'] == str(machine.root / 'cuda')
    assert env['MAX_JOBS'] == '16'


def test_cuda_torch_without_gpu_builds_cpu_ops(machine):
    machine.torch('13.0')
    machine.nvcc('13.0')
    code, env, err = plan(machine)
    assert code == 0
    assert env == dict(MMCV_WITH_OPS='1', MAX_JOBS='16')
    assert 'is a CUDA build but no GPU is visible' in err
    assert 'FORCE_CUDA=1 builds the CUDA ops' in err
    # forced: the CUDA build for the documented default architectures
    code, env, _ = plan(machine, FORCE_CUDA='1')
    assert code == 0
    assert env['TORCH_CUDA_ARCH_LIST'] == '7.0;7.5;8.0;8.6;8.9;9.0'
    code, env, _ = plan(machine, FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='8.9')
    assert env['TORCH_CUDA_ARCH_LIST'] == '8.9'


@pytest.mark.parametrize(
    'nvcc, message',
    [
        (None, 'built for CUDA 12.4, but nvcc is not found: install the '
         'CUDA toolkit 12.x'),
        ('11.8', 'is CUDA 11.8, torch 2.13.0 is built for CUDA 12.4'),
    ],
)  # fmt: skip
def test_missing_or_mismatched_nvcc(machine, nvcc, message):
    machine.torch('12.4')
    if nvcc:
        machine.nvcc(nvcc)
    machine.gpus('9.0')
    # CPU ops, saying why and how to get the CUDA ones
    code, env, err = plan(machine)
    assert code == 0
    assert env == dict(MMCV_WITH_OPS='1', MAX_JOBS='16')
    assert message in err and 'rerun with FORCE_CUDA=1 once nvcc fits' in err
    # FORCE_CUDA=1 stops before a build that would fail after minutes
    code, env, err = plan(machine, FORCE_CUDA='1')
    assert code == 1 and not env
    assert 'error: FORCE_CUDA=1: ' in err and message in err
