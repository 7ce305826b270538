"""scripts/torch_build.py: the CPU wheel without a GPU (local first, else
PyTorch's CPU index, else a stop naming it), the CUDA build with one."""

import sys

TAG = 'cp%d%d' % sys.version_info[:2]
WHEEL = f'torch-2.13.0%2Bcpu-{TAG}-{TAG}-manylinux_2_28_x86_64.whl'


def choice(proc):
    assert proc.returncode == 0, proc.stderr
    what, *args = proc.stdout.strip().split('\n')
    return what, args


def test_local_cpu_wheel_first(machine):
    what, args = choice(machine.script('torch_build.py', FAKE_LOCAL_WHEEL='1'))
    assert args == ['torch==2.13.0+cpu']
    assert what == (
        'torch 2.13.0+cpu (no NVIDIA GPU: nvidia-smi not found; pip finds '
        'the wheel locally)'
    )
    (dry_run,) = machine.pip_calls()  # asked pip, no index
    assert dry_run['args'][:2] == ['install', '--dry-run']
    assert '--no-index' in dry_run['args']
    assert dry_run['args'][-1] == 'torch==2.13.0+cpu'


def test_no_gpu_takes_the_cpu_index(machine):
    machine.gpus()  # nvidia-smi answers, with no GPU
    index = machine.index(WHEEL)
    what, args = choice(
        machine.script('torch_build.py', SFSEG_TORCH_INDEX=index)
    )
    assert args == ['torch==2.13.0+cpu', '--extra-index-url', index]
    assert 'nvidia-smi lists none' in what and index in what


def test_unreachable_index_stops_naming_it(machine):
    index = machine.index(WHEEL.replace(TAG, 'cp39'))  # not this Python
    proc = machine.script('torch_build.py', SFSEG_TORCH_INDEX=index)
    assert proc.returncode == 1 and proc.stdout == ''
    assert f'the CPU wheel index {index} does not serve it' in proc.stderr
    assert f'lists no torch 2.13.0+cpu wheel for {TAG}' in proc.stderr
    assert 'Set SFSEG_TORCH_INDEX' in proc.stderr
    missing = machine.root.as_uri() + '/no-such-index'
    proc = machine.script('torch_build.py', SFSEG_TORCH_INDEX=missing)
    assert proc.returncode == 1
    assert f'{missing}/torch/index.html cannot be read' in proc.stderr
    # --plan reports the same stop and never fails
    proc = machine.script('torch_build.py', '--plan', SFSEG_TORCH_INDEX=index)
    assert proc.returncode == 0
    assert proc.stdout.startswith('torch: the install would stop: no NVIDIA')


def test_gpu_takes_the_cuda_build(machine):
    machine.gpus('9.0')
    what, args = choice(machine.script('torch_build.py'))
    assert args == ['torch==2.13.0']
    assert what == 'torch 2.13.0 CUDA build (NVIDIA GPU(s) 9.0)'
    assert machine.pip_calls() == []  # no CPU wheel looked for


def test_forced_builds(machine):
    what, args = choice(machine.script('torch_build.py', SFSEG_TORCH='cuda'))
    assert args == ['torch==2.13.0'] and 'SFSEG_TORCH=cuda' in what
    machine.gpus('8.0')
    what, args = choice(
        machine.script(
            'torch_build.py', SFSEG_TORCH='cpu', FAKE_LOCAL_WHEEL='1'
        )
    )
    assert args == ['torch==2.13.0+cpu'] and 'SFSEG_TORCH=cpu' in what
    proc = machine.script('torch_build.py', SFSEG_TORCH='rocm')
    assert proc.returncode == 1
    assert "SFSEG_TORCH='rocm': use cpu or cuda" in proc.stderr
