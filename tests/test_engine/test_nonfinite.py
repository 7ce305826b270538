"""SFOptimWrapper's non-finite gradient guard: stop (default) or skip,
the same decision on every rank, no NaN in any weight or checkpoint."""

import os
import os.path as osp
import re
import subprocess
import sys
import time

import pytest
import torch
from mmengine.logging import MessageHub
from toy_training import CHILD_PATH, REPO, TOY, dist_train, options, state

from sfseg.engine import NonFiniteGradientError, SFOptimWrapper

CFG = """
_base_ = '{toy}'
custom_imports = dict(imports=['sfseg', 'kill_rank'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='SFRandomStateHook'),
                dict(type='NaNLossHook', at={at}, rank={rank})]
optim_wrapper = dict(nonfinite='{mode}', max_skips=2)
randomness = dict(seed=5, deterministic=True)
"""


def wrapper(mode, max_skips=2):
    model = torch.nn.Linear(3, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, SFOptimWrapper(optim, nonfinite=mode, max_skips=max_skips)


def run_step(model, wrap, value):
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 6)
    loss = model(torch.ones(1, 3)).sum() * value
    hub.update_info('sfseg_loss_terms', {'decode.loss_ce': loss.detach()})
    wrap.update_params(loss)


def test_stop_names_the_iteration_and_the_losses():
    model, wrap = wrapper('stop')
    run_step(model, wrap, 1.0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(NonFiniteGradientError) as err:
        run_step(model, wrap, float('nan'))
    msg = str(err.value)
    assert 'iteration 7' in msg and 'decode.loss_ce=nan' in msg
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p, q)


def test_skip_leaves_parameters_and_momentum_and_counts():
    model, wrap = wrapper('skip', max_skips=2)
    run_step(model, wrap, 1.0)
    params = [p.detach().clone() for p in model.parameters()]
    momentum = [
        wrap.optimizer.state[p]['momentum_buffer'].clone()
        for p in model.parameters()
    ]
    run_step(model, wrap, float('inf'))
    run_step(model, wrap, float('nan'))
    assert wrap.skipped == wrap.skipped_in_a_row == 2
    for p, q, m in zip(model.parameters(), params, momentum):
        assert torch.equal(p, q)
        assert torch.equal(wrap.optimizer.state[p]['momentum_buffer'], m)
        assert p.grad is None or not p.grad.abs().sum()
    with pytest.raises(NonFiniteGradientError, match='3 steps in a row'):
        run_step(model, wrap, float('nan'))
    run_step(*wrapper('skip')[:2], 1.0)  # a finite step resets the count
    with pytest.raises(ValueError, match="'stop' or 'skip'"):
        SFOptimWrapper(wrap.optimizer, nonfinite='ignore')


def write(tmp_path, at, rank, mode):
    path = tmp_path / f'nan_{mode}.py'
    path.write_text(CFG.format(toy=TOY, at=at, rank=rank, mode=mode))
    return path


def train(cfg, work, root, interval=1):
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=CHILD_PATH,
    )
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(cfg)]
    cmd += ['--work-dir', str(work), '--cfg-options']
    cmd += options(root, checkpoint_every=interval)
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=900
    )
    return proc.returncode, proc.stdout + proc.stderr


def all_finite(work):
    for path in work.glob('iter_*.pth'):
        for key, value in state(path).items():
            if value.is_floating_point():
                assert torch.isfinite(value).all(), (path.name, key)


def test_nan_on_one_of_two_ranks_stops_both(toy_city, tmp_path):
    cfg = write(tmp_path, (3,), 1, 'stop')
    rc, out, start = dist_train(cfg, tmp_path / 'work', toy_city, 0)
    assert rc != 0 and time.perf_counter() - start < 60
    # each rank's own error, from the same all-reduced gradients
    stops = re.findall(r'non-finite gradients at iteration 3', out)
    assert len(stops) >= 2, out[-3000:]
    assert 'Iter(train) [3/6]' not in out
    all_finite(tmp_path / 'work')


def test_one_process_stop_and_skip(toy_city, tmp_path):
    rc, out = train(write(tmp_path, (3,), None, 'stop'), tmp_path / 's',
                    toy_city)  # fmt: skip
    assert rc != 0 and 'non-finite gradients at iteration 3' in out
    assert re.search(r'losses: .*decode\.loss_ohem=nan', out), out[-2000:]
    all_finite(tmp_path / 's')
    # skip: iteration 3 leaves parameters and momentum as iteration 2
    # left them (BN running statistics still move in the forward pass)
    rc, out = train(write(tmp_path, (3,), None, 'skip'), tmp_path / 'k',
                    toy_city)  # fmt: skip
    assert rc == 0, out[-3000:]
    assert 'skipped the step of iteration 3' in out
    two, three = (state(tmp_path / 'k' / f'iter_{i}.pth') for i in (2, 3))
    moved = [k for k in two if not torch.equal(two[k], three[k])]
    assert moved and all(
        re.search(r'running_(mean|var)|num_batches', k) for k in moved
    ), moved
    all_finite(tmp_path / 'k')
    # NaN at 3, 4, 5 with max_skips=2: stops at 5
    rc, out = train(write(tmp_path, (3, 4, 5), None, 'skip'),
                    tmp_path / 'l', toy_city)  # fmt: skip
    assert rc != 0
    assert 'in 3 steps in a row, the last at iteration 5' in out
