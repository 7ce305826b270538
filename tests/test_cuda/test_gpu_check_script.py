""".dev_scripts/gpu_check.sh on the CPU: its syntax, the plan it
prints with --dry-run (what runs, under which timeouts, within the 10
minutes a lent GPU machine's check may take) and its stop without a GPU.
Not marked ``cuda``."""

import os
import os.path as osp
import re
import shutil
import subprocess

import pytest
from common import REPO
from tool_loader import load_tool

SCRIPT = osp.join(REPO, '.dev_scripts', 'gpu_check.sh')


def test_gpu_check_parses():
    proc = subprocess.run(['bash', '-n', SCRIPT], capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_gpu_check_plan_fits_ten_minutes(tmp_path):
    out = tmp_path / 'out'
    proc = subprocess.run(
        ['bash', SCRIPT, '--dry-run'],
        env=dict(os.environ, OUT=str(out), SFSEGNETS_ROOT=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = proc.stdout
    assert not out.exists()  # a dry run writes nothing
    found = re.findall(r'\[plan\] (\w+): timeout <= (\d+)s: (.*)', plan)
    caps = {name: int(cap) for name, cap, _ in found}
    steps = {name: command for name, _, command in found}
    assert set(steps) == {
        'setup',
        'pytest_cuda',
        'benchmark',
        'benchmark_compiled',
        'train_compiled',
    }
    total = int(re.search(r'total <= (\d+)s', plan).group(1))
    # every step is cut at the time left; 10 s more to kill the last one
    before = ('setup', 'pytest_cuda', 'benchmark', 'benchmark_compiled')
    assert sum(caps[s] for s in before) < total <= 580
    assert caps['train_compiled'] == total
    compiled = steps['benchmark_compiled']
    assert 'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py' in compiled
    assert '--shape 1024 2048' in compiled
    assert compiled.split('--variants ')[1].split(' --')[0].split() == [
        'fast',
        'fp16',
        'compile',
        'compile-fp16',
        'compile-cudagraphs',
    ]
    train = steps['train_compiled']
    assert 'benchmark_training_compile.py' in train and '--amp' in train
    assert '-m cuda tests/test_cuda' in steps['pytest_cuda']
    bench_cmd = steps['benchmark']
    for config in (
        'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
        'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
        'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py',
    ):
        assert config in bench_cmd
    for option in ('--device cuda', '--tf32 off', '--shape 1024 2048'):
        assert option in bench_cmd
    assert f'--out-dir {out}' in bench_cmd
    assert 'no clone at' in plan  # tmp_path holds no official code
    variants = bench_cmd.split('--variants ')[1].split(' --')[0].split()
    bench = load_tool('tools/analysis_tools/benchmark.py')
    assert {'fp16', 'bf16', 'onnx'} <= set(variants) <= set(bench.VARIANTS)


@pytest.mark.skipif(
    shutil.which('nvidia-smi') is not None, reason='nvidia-smi is here'
)
def test_gpu_check_without_a_gpu_stops_and_says_so(tmp_path):
    proc = subprocess.run(
        ['bash', SCRIPT],
        env=dict(os.environ, OUT=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    log = (tmp_path / 'gpu_check.log').read_text()
    assert 'no GPU: nvidia-smi is missing or fails' in log


def test_gpu_check_rehearsal_runs_every_step_on_the_cpu(tmp_path):
    """--rehearse with this environment's python: the packages import, the
    `cuda` tests are collected and skipped, the benchmark runs its CUDA
    variant list on the CPU (fp16 skipped with its reason), and every log
    lands in one folder."""
    import json
    import sys

    out = tmp_path / 'out'
    proc = subprocess.run(
        ['bash', SCRIPT, '--rehearse'],
        env=dict(
            os.environ,
            OUT=str(out),
            PYTHON=sys.executable,
            SITE=str(tmp_path / 'site'),  # nothing installed before
            SFSEGNETS_ROOT=str(tmp_path),  # no official code: rows skip
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    log = (out / 'gpu_check.log').read_text()
    assert 'rehearsal: every step but the GPU' in log
    assert 'packages: present' in log  # this venv: nothing installed
    tests = (out / 'pytest_cuda.log').read_text()
    assert re.search(r'\d+ skipped', tests) and 'needs a CUDA GPU' in tests
    assert ' failed' not in tests and ' error' not in tests
    result = json.loads((out / 'benchmark.json').read_text())
    assert result['device'] == 'cpu' and len(result['rows']) == 3
    assert 'fp16 runs on CUDA only' in result['skipped']['fp16']
    for row in result['rows']:
        assert {'eager', 'fold'} <= set(row['variants'])
    assert (out / 'benchmark.md').exists()
    compiled = json.loads((out / 'compiled' / 'benchmark.json').read_text())
    assert set(compiled['rows'][0]['variants']) == {'fast'}
    assert 'fp16 runs on CUDA only' in compiled['skipped']['compile-fp16']
    assert 'is for CUDA' in compiled['skipped']['compile-cudagraphs']
    train = (out / 'train_compiled.log').read_text()
    assert 'compile / eager per iteration' in train, train[-3000:]
