"""A killed rank under tools/dist_train.sh: torchrun restarts the workers,
train.py resumes from the latest checkpoint, and the run ends where an
uninterrupted one does, bit for bit; without restarts the job fails fast
naming the rank."""

import os
import re
import time

import torch
from toy_training import (
    CHILD_PATH,
    TOY,
    dist_train,
    state,
    train,
)

CFG = """
_base_ = '{toy}'
custom_imports = dict(imports=['sfseg', 'kill_rank'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='SFRandomStateHook')] + {hooks}
randomness = dict(seed=5, deterministic=True)
"""


def write_cfg(path, hooks):
    path.write_text(CFG.format(toy=TOY, hooks=hooks))
    return path


def test_killed_rank_restarts_and_resumes_exactly(toy_city, tmp_path):
    plain = write_cfg(tmp_path / 'plain.py', '[]')
    killer = write_cfg(
        tmp_path / 'kill.py', "[dict(type='KillRankHook', rank=1, at=3)]"
    )
    rc, out, _ = dist_train(plain, tmp_path / 'straight', toy_city, 1)
    assert rc == 0, out[-4000:]
    rc, out, _ = dist_train(killer, tmp_path / 'killed', toy_city, 1)
    assert rc == 0, out[-4000:]
    assert re.search(r'Auto resumed from the latest checkpoint \S*iter_2', out)
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    a = state(tmp_path / 'straight' / 'iter_6.pth')
    b = state(tmp_path / 'killed' / 'iter_6.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_without_restarts_the_job_fails_fast_naming_the_rank(
    toy_city, tmp_path
):
    killer = write_cfg(
        tmp_path / 'kill.py', "[dict(type='KillRankHook', rank=1, at=3)]"
    )
    rc, out, start = dist_train(killer, tmp_path / 'work', toy_city, 0)
    assert rc != 0
    assert time.perf_counter() - start < 60
    assert re.search(r'rank\s*:\s*1 ', out), out[-3000:]
    assert 'SIGKILL' in out


SLURM_CFG = """
_base_ = '{toy}'
custom_imports = dict(imports=['sfseg', 'kill_rank'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='SFRandomStateHook'),
                dict(type='SFRequeueHook', only_under_slurm={only})] + {hooks}
randomness = dict(seed=5, deterministic=True)
"""
SCONTROL = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$SCONTROL_RECORD"
"""


def test_slurm_signal_checkpoints_requeues_and_resumes(toy_city, tmp_path):
    """SIGUSR1 at iteration 3 under slurm: iter_3.pth is written, scontrol
    requeue is called with the job id, the process exits; the requeued run
    (--resume) ends equal to an uninterrupted one."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'scontrol').write_text(SCONTROL)
    (bin_dir / 'scontrol').chmod(0o755)
    record = tmp_path / 'scontrol.txt'
    env = dict(
        os.environ,
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        SLURM_JOB_ID='4242',
        SCONTROL_RECORD=str(record),
        OMP_NUM_THREADS='1',
        PYTHONPATH=CHILD_PATH,
    )
    env.pop('TORCHELASTIC_RESTART_COUNT', None)
    plain = tmp_path / 'plain.py'
    plain.write_text(SLURM_CFG.format(toy=TOY, only=True, hooks='[]'))
    signalled = tmp_path / 'signal.py'
    signalled.write_text(
        SLURM_CFG.format(
            toy=TOY, only=True, hooks="[dict(type='SignalRankHook', at=3)]"
        )
    )
    rc, out = train(plain, tmp_path / 'straight', toy_city, env)
    assert rc == 0, out[-3000:]
    work = tmp_path / 'requeued'
    rc, out = train(signalled, work, toy_city, env)
    assert rc != 0
    assert 'stopped after iteration 3 on SIGUSR1' in out, out[-3000:]
    assert 'job requeued' in out
    assert record.read_text().split() == ['requeue', '4242']
    assert (
        (work / 'last_checkpoint').read_text().strip().endswith('iter_3.pth')
    )
    assert state(work / 'iter_3.pth')  # complete and readable
    rc, out = train(plain, work, toy_city, env, resume=True)
    assert rc == 0, out[-3000:]
    assert re.search(r'resumed epoch: \d+, iter: 3', out), out[-3000:]
    a = state(tmp_path / 'straight' / 'iter_6.pth')
    b = state(work / 'iter_6.pth')
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_signal_on_one_rank_stops_both_at_the_same_iteration(
    toy_city, tmp_path
):
    """Only rank 1 gets the signal; the per-iteration all-reduce makes both
    ranks stop after iteration 3, with its checkpoint written."""
    cfg = tmp_path / 'signal.py'
    cfg.write_text(
        SLURM_CFG.format(
            toy=TOY,
            only=False,
            hooks="[dict(type='SignalRankHook', rank=1, at=3)]",
        )
    )
    rc, out, _ = dist_train(cfg, tmp_path / 'work', toy_city, 0)
    assert rc != 0
    assert 'stopped after iteration 3 on another rank' in out, out[-3000:]
    assert 'Iter(train) [4/6]' not in out
    assert state(tmp_path / 'work' / 'iter_3.pth')
