"""Exact resume (SFRandomStateHook) and crash-safe checkpoints
(SFCheckpointHook) through tools/train.py, as users run it.

Resume: 4 straight iterations of the toy config (PPM dropout, random
augmentation, 2 data-loader workers) are compared bit for bit with the
same run resumed from its iteration-2 checkpoint. Kill: a run is killed
with SIGKILL while it writes a checkpoint; the work dir must still resume.
"""

import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from common import REPO
from toy_training import CHILD_PATH

TOY_CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)
TRAIN = osp.join(REPO, 'tools', 'train.py')


def env():
    return dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')


def options(root, iters, interval, workers=2, extra=()):
    opts = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={interval}',
        'default_hooks.logger.interval=1',
        f'train_dataloader.num_workers={workers}',
        f'train_dataloader.persistent_workers={workers > 0}',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'randomness.deterministic=True',
    ]
    return opts + list(extra)


def train(work, opts, resume=False, check=True, config=TOY_CFG):
    cmd = [sys.executable, TRAIN, str(config), '--work-dir', str(work)]
    cmd += ['--resume'] if resume else []
    proc = subprocess.run(
        cmd + ['--cfg-options'] + opts,
        env=env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out[-4000:]
    return proc.returncode, out


def load(path):
    from sfseg.utils import load_checkpoint_file

    return load_checkpoint_file(str(path), map_location='cpu')


def max_difference(a, b):
    """Largest abs difference over weights, buffers and momentum."""
    sa, sb = a['state_dict'], b['state_dict']
    assert sa.keys() == sb.keys()
    worst = max((sa[k].double() - sb[k].double()).abs().max() for k in sa)
    ma, mb = a['optimizer']['state'], b['optimizer']['state']
    for key in ma:
        diff = ma[key]['momentum_buffer'] - mb[key]['momentum_buffer']
        worst = max(worst, diff.abs().max())
    return float(worst)


def resume_from(src_work, work, step):
    os.makedirs(work)
    ckpt = osp.join(work, f'iter_{step}.pth')
    shutil.copy(osp.join(src_work, f'iter_{step}.pth'), ckpt)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)


def test_resume_repeats_an_uninterrupted_run_bit_for_bit(toy_city, tmp_path):
    straight = tmp_path / 'straight'
    train(straight, options(toy_city, 4, 2))
    first = load(straight / 'iter_2.pth')
    assert len(first['rng_states']) == 1  # one rank
    assert set(first['rng_states'][0]) >= {'torch', 'numpy', 'python'}

    resumed = tmp_path / 'resumed'
    resume_from(straight, resumed, 2)
    _, out = train(resumed, options(toy_city, 4, 2), resume=True)
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    assert (
        max_difference(
            load(straight / 'iter_4.pth'), load(resumed / 'iter_4.pth')
        )
        == 0.0
    )

    # Without the hook the resumed run draws other dropout masks.
    plain = tmp_path / 'plain'
    resume_from(straight, plain, 2)
    train(plain, options(toy_city, 4, 2, extra=['custom_hooks=[]']), True)
    assert (
        max_difference(
            load(straight / 'iter_4.pth'), load(plain / 'iter_4.pth')
        )
        > 0.0
    )


def test_class_uniform_uds_resume_is_exact(tmp_path):
    # The class-uniform draws are a function of the sampler's position,
    # which mmengine replays on resume; the crops' randomness is restored.
    from driving_fixtures import make_uds_fixture
    from test_uds import UDS_CFG

    make_uds_fixture(str(tmp_path / 'data'))
    cfg = tmp_path / 'uds_toy.py'
    cfg.write_text(
        UDS_CFG.format(
            repo=REPO, root=tmp_path / 'data', cache=tmp_path / 'cache'
        )
    )
    opts = [
        'train_cfg.max_iters=4',
        'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2',
        'randomness.deterministic=True',
        'randomness.seed=3',
    ]
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    train(straight, opts, config=cfg)
    states = load(straight / 'iter_2.pth')['rng_states'][0]
    assert states['datasets'] == []  # no dataset keeps a stream of its own
    resume_from(straight, resumed, 2)
    _, out = train(resumed, opts, resume=True, config=cfg)
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    assert (
        max_difference(
            load(straight / 'iter_4.pth'), load(resumed / 'iter_4.pth')
        )
        == 0.0
    )


def test_old_checkpoint_without_states_resumes_with_a_warning(
    toy_city, tmp_path
):
    work = tmp_path / 'old'
    train(work, options(toy_city, 1, 1, workers=0, extra=['custom_hooks=[]']))
    assert 'rng_states' not in load(work / 'iter_1.pth')
    _, out = train(work, options(toy_city, 2, 1, workers=0), resume=True)
    assert 'holds no random states' in out
    assert (work / 'iter_2.pth').is_file()


SLOW_WRITER = """
import os, runpy, sys, time
from mmengine.fileio.backends.local_backend import LocalBackend

real_put = LocalBackend.put


def put(self, obj, filepath):
    # The checkpoint of iteration 2: write half of it, then hang so the
    # test can kill the process in the middle of the write.
    if 'iter_2.pth' in str(filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[: len(obj) // 2])
        open(os.environ['SFSEG_TEST_MARKER'], 'w').close()
        time.sleep(600)
    return real_put(self, obj, filepath)


LocalBackend.put = put
sys.argv = [{train!r}] + sys.argv[1:]
runpy.run_path({train!r}, run_name='__main__')
"""


def kill_while_saving(tmp_path, work, opts):
    script = tmp_path / 'slow_writer.py'
    script.write_text(textwrap.dedent(SLOW_WRITER.format(train=TRAIN)))
    marker = tmp_path / f'{work.name}.saving'
    proc = subprocess.Popen(
        [sys.executable, str(script), TOY_CFG, '--work-dir', str(work)]
        + ['--cfg-options']
        + opts,
        env=dict(env(), SFSEG_TEST_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 600
    while not marker.exists():
        assert proc.poll() is None, 'training ended before the kill'
        assert time.time() < deadline, 'checkpoint 2 was never written'
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize('hook', ['SFCheckpointHook', 'CheckpointHook'])
def test_kill_while_writing_a_checkpoint(toy_city, tmp_path, hook):
    work = tmp_path / hook
    opts = options(
        toy_city,
        3,
        1,
        workers=0,
        extra=[
            f'default_hooks.checkpoint.type={hook}',
            'default_hooks.checkpoint.max_keep_ckpts=1',
        ],
    )
    kill_while_saving(tmp_path, work, opts)
    last = (work / 'last_checkpoint').read_text().strip()
    if hook == 'CheckpointHook':
        # mmengine: the older checkpoint is deleted before the new one is
        # written, and the new one is truncated under its final name.
        assert not osp.exists(last)
        assert (work / 'iter_2.pth').is_file()
        with pytest.raises(Exception):
            load(work / 'iter_2.pth')
        return
    assert last == 'iter_1.pth'  # relative: a moved work dir resumes
    assert load(work / last)['meta']['iter'] == 1  # complete and readable
    assert not (work / 'iter_2.pth').exists()
    _, out = train(work, opts, resume=True)
    assert re.search(r'resumed epoch: \d+, iter: 1', out), out[-3000:]
    assert 'Iter(train) [3/3]' in out
    assert (work / 'last_checkpoint').read_text().strip() == 'iter_3.pth'
    # max_keep_ckpts=1 holds once the new checkpoint is in place
    names = sorted(p.name for p in work.glob('*.pth'))
    assert names == ['iter_3.pth']
    assert not list(work.glob('.*.partial'))
    assert torch.is_tensor(
        load(work / 'iter_3.pth')['state_dict']['decode_head.conv_seg.weight']
    )


DIST_CU_CFG = """
_base_ = '{repo}/configs/sfnet_lite/' + \
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py'
log_level = 'DEBUG'  # every rank writes its own log file
custom_imports = dict(imports=['sfseg', 'record_samples'],
                      allow_failed_imports=False)
crop_size = (64, 128)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(data_preprocessor=dict(size=crop_size),
             backbone=dict(norm_cfg=norm_cfg, init_cfg=None),
             decode_head=dict(norm_cfg=norm_cfg))
train_dataloader = dict(
    batch_size=2, num_workers={workers}, persistent_workers=False,
    dataset=dict(tile=32, cache_dir='{cache}', dataset=dict(
        data_root='{root}')))
val_dataloader = None
val_evaluator = None
val_cfg = None
train_cfg = dict(max_iters=4, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
custom_hooks = [dict(type='SFRandomStateHook'), dict(type='RecordSamplesHook')]
randomness = dict(seed=3, deterministic=True)
"""


def dist_train(cfg, work, resume=False):
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = str(sock.getsockname()[1])
    environ = env()
    environ.update(
        PYTHON=sys.executable,
        PORT=port,
        PYTHONPATH=CHILD_PATH,
    )
    cmd = ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), str(cfg), '2']
    cmd += ['--work-dir', str(work)] + (['--resume'] if resume else [])
    # the official pipeline with a crop that fits the toy images
    crop = 'train_dataloader.dataset.dataset.pipeline.2.crop_size=(64,128)'
    cmd += ['--cfg-options', crop]
    proc = subprocess.run(
        cmd, env=environ, capture_output=True, text=True, timeout=900
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def samples(work, rank):
    import json

    with open(work / f'samples_rank{rank}.jsonl') as f:
        return [json.loads(line) for line in f]


def test_class_uniform_on_two_gloo_ranks(toy_city, tmp_path):
    """The official class-uniform Cityscapes recipe on 2 processes from an
    empty centroid cache: computed once, one cache file; the ranks train on
    different samples in every iteration, the same ones with 0 or 2
    workers; 2 + resumed 2 iterations equal 4 straight, bit for bit."""
    seen = {}
    for workers in (0, 2):
        cfg = tmp_path / f'cu{workers}.py'
        cache = tmp_path / f'cache{workers}'
        cfg.write_text(
            DIST_CU_CFG.format(
                repo=REPO, root=toy_city, cache=cache, workers=workers
            )
        )
        straight = tmp_path / f'straight{workers}'
        out = dist_train(cfg, straight)
        assert 'Iter(train) [4/4]' in out
        logs = sorted(straight.glob('*/*.log'))
        assert len(logs) == 2, logs  # one per rank
        texts = [log.read_text() for log in logs]
        computed = 'computing the centroids of 8 labels'
        assert sum(t.count(computed) for t in texts) == 1
        assert len(os.listdir(cache)) == 1
        ranks = [samples(straight, r) for r in (0, 1)]
        assert [it for it, _ in ranks[0]] == [0, 1, 2, 3]
        assert [it for it, _ in ranks[1]] == [0, 1, 2, 3]
        for (_, a), (_, b) in zip(*ranks):
            assert a != b, (a, b)
        seen[workers] = ranks
    assert seen[0] == seen[2]
    resumed = tmp_path / 'resumed'
    resume_from(straight, resumed, 2)
    out = dist_train(cfg, resumed, resume=True)
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    assert (
        max_difference(
            load(straight / 'iter_4.pth'), load(resumed / 'iter_4.pth')
        )
        == 0.0
    )
