"""Short toy trainings in child processes, shared by the fault tests
(tests/test_engine, tests/test_datasets/test_sample_guard.py).

Children get ``PYTHONPATH=CHILD_PATH`` (the repo and this folder), so
configs can ``custom_imports`` the fault injectors here (``kill_rank``,
``record_samples``).
"""

import os
import os.path as osp
import re
import subprocess
import sys
import time

from common import REPO, free_port

HELPERS = osp.dirname(osp.abspath(__file__))
TOY = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)
CHILD_PATH = os.pathsep.join([REPO, HELPERS])


def options(root, checkpoint_every):
    """6 iterations of 2 toy images, no validation, workers 0."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=2',
        'train_cfg.max_iters=6',
        'val_cfg=None',
        'val_dataloader=None',
        'val_evaluator=None',
        f'default_hooks.checkpoint.interval={checkpoint_every}',
        'default_hooks.logger.interval=1',
    ]


def logged_losses(log):
    """``{iteration: total loss}`` of the text of an mmengine training
    log."""
    found = re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\].*?\sloss: (\S+)', log)
    return {int(it): float(loss) for it, loss in found}


def dist_train(cfg, work, root, restarts):
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=free_port(),
        MAX_RESTARTS=str(restarts),
        OMP_NUM_THREADS='1',
        PYTHONPATH=CHILD_PATH,
    )
    opts = options(root, checkpoint_every=2)
    cmd = ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), str(cfg), '2']
    cmd += ['--work-dir', str(work), '--cfg-options'] + opts
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=900
    )
    return proc.returncode, proc.stdout + proc.stderr, start


def state(path):
    from sfseg.utils import load_checkpoint_file

    ckpt = load_checkpoint_file(str(path), map_location='cpu')
    tensors = dict(ckpt['state_dict'])
    for key, value in ckpt['optimizer']['state'].items():
        tensors[f'momentum.{key}'] = value['momentum_buffer']
    return tensors


def train(cfg, work, root, env, resume=False, every=100, iters=6, pre=None):
    """tools/train.py on one process; ``pre`` runs in the child first."""
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(cfg)]
    cmd += ['--work-dir', str(work)] + (['--resume'] if resume else [])
    opts = options(root, checkpoint_every=every)
    opts[opts.index('train_cfg.max_iters=6')] = f'train_cfg.max_iters={iters}'
    proc = subprocess.run(
        cmd + ['--cfg-options'] + opts,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        preexec_fn=pre,
    )
    return proc.returncode, proc.stdout + proc.stderr
