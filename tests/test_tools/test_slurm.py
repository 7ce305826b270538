"""The slurm launch scripts build the srun command mmseg users expect.

A stub ``srun`` on PATH records its arguments instead of launching.
"""

import os
import os.path as osp
import subprocess

import pytest
from common import REPO

STUB = """#!/usr/bin/env bash
for arg in "$@"; do printf '%s\\n' "$arg"; done > "$SRUN_RECORD"
"""
KNOBS = ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS', 'PYTHON')


@pytest.fixture
def srun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    stub = bin_dir / 'srun'
    stub.write_text(STUB)
    stub.chmod(0o755)
    record = tmp_path / 'srun_args.txt'

    def run(script, *args, **env):
        full = {k: v for k, v in os.environ.items() if k not in KNOBS}
        full.update(
            PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
            SRUN_RECORD=str(record),
            **env,
        )
        subprocess.run(
            ['bash', osp.join(REPO, 'tools', script), *args],
            env=full,
            check=True,
            capture_output=True,
            text=True,
        )
        return record.read_text().splitlines()

    return run


def test_slurm_train_command_line(srun):
    args = srun(
        'slurm_train.sh',
        'gpu-part',
        'sfnet-r18',
        'configs/sfnet/x.py',
        '--work-dir',
        'work_dirs/x',
        '--cfg-options',
        'train_cfg.max_iters=10',
        GPUS='16',
        GPUS_PER_NODE='8',
        CPUS_PER_TASK='6',
        SRUN_ARGS='--quotatype=auto --time=12:00:00',
        PYTHON='python3.11',
    )
    assert args == [
        '--partition=gpu-part',
        '--job-name=sfnet-r18',
        '--gres=gpu:8',
        '--ntasks=16',
        '--ntasks-per-node=8',
        '--cpus-per-task=6',
        '--kill-on-bad-exit=1',
        '--quotatype=auto',
        '--time=12:00:00',
        'python3.11',
        '-u',
        osp.join(REPO, 'tools', 'train.py'),
        'configs/sfnet/x.py',
        '--launcher',
        'slurm',
        '--resume',
        '--work-dir',
        'work_dirs/x',
        '--cfg-options',
        'train_cfg.max_iters=10',
    ]


def test_slurm_test_command_line_and_defaults(srun):
    args = srun(
        'slurm_test.sh',
        'p',
        'eval',
        'cfg.py',
        'iter_1000.pth',
        '--out',
        'preds',
    )
    assert args == [
        '--partition=p',
        '--job-name=eval',
        '--gres=gpu:8',
        '--ntasks=8',
        '--ntasks-per-node=8',
        '--cpus-per-task=5',
        '--kill-on-bad-exit=1',
        'python',
        '-u',
        osp.join(REPO, 'tools', 'test.py'),
        'cfg.py',
        'iter_1000.pth',
        '--launcher',
        'slurm',
        '--out',
        'preds',
    ]


def test_fewer_gpus_than_a_node(srun):
    args = srun('slurm_train.sh', 'p', 'j', 'c.py', GPUS='2')
    assert '--gres=gpu:2' in args and '--ntasks-per-node=2' in args


def test_missing_arguments_fail(tmp_path):
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'slurm_train.sh'), 'p', 'j'],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
