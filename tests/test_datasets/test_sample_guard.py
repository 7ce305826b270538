"""Bad samples during training: an image that breaks after the dataset
loaded its list stops training naming the file (data-loader workers 0 and
2), or is replaced by the same other sample in every run and in a resumed
one; a label id of 25 with 19 classes is named by ``check_files=True``, by
the runtime check and by the metric."""

import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from common import REPO
from PIL import Image
from toy_training import CHILD_PATH, TOY, state

from sfseg.datasets import BadSampleError, DatasetInputError, SFSampleGuard
from sfseg.datasets.checks import full_init_checked, out_of_range_ids

SEED = 5
CFG = """
_base_ = '{toy}'
custom_imports = dict(imports=['sfseg', 'kill_rank'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='SFRandomStateHook')]
randomness = dict(seed={seed}, deterministic=True)
train_dataloader = dict(
    num_workers={workers},
    persistent_workers=False,
    batch_size=2,
    dataset=dict(
        _delete_=True,
        type='GarbleAfterInit',
        index={index},
        dataset=dict(
            type='CityscapesDataset',
            data_root='{root}',
            data_prefix=dict(
                img_path='leftImg8bit/train', seg_map_path='gtFine/train'
            ),
            pipeline={{{{_base_.train_pipeline}}}},
        ),
    ),
)
train_cfg = dict(max_iters=6)
val_cfg = None
val_dataloader = None
val_evaluator = None
default_hooks = dict(
    checkpoint=dict(interval=2), logger=dict(interval=1)
)
sample_guard = dict(on_bad='{on_bad}')
"""


def toy_train_set(root, pipeline=(), **kwargs):
    from mmseg.datasets import CityscapesDataset

    return CityscapesDataset(
        data_root=root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'
        ),
        pipeline=list(pipeline),
        **kwargs,
    )


LOADING = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


def drawn_at_iteration_3(root):
    """The sample index InfiniteSampler(seed=5) draws first in iteration 3
    (batch 2, one process): after the resume point iter_2."""
    size = len(toy_train_set(root))
    order = torch.randperm(size, generator=torch.Generator().manual_seed(5))
    return int(order[4])


def train(tmp_path, name, root, workers, on_bad, resume_from=None):
    index = drawn_at_iteration_3(root)
    cfg = tmp_path / f'{name}.py'
    cfg.write_text(
        CFG.format(
            toy=TOY,
            seed=SEED,
            workers=workers,
            index=index,
            root=root,
            on_bad=on_bad,
        )
    )
    work = tmp_path / name
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(cfg)]
    cmd += ['--work-dir', str(work)]
    if resume_from is not None:
        work.mkdir()
        shutil.copy(resume_from, work / 'iter_2.pth')
        (work / 'last_checkpoint').write_text('iter_2.pth')
        cmd.append('--resume')
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=CHILD_PATH,
    )
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=900
    )
    image = toy_train_set(root).get_data_info(index)['img_path']
    return proc.returncode, proc.stdout + proc.stderr, work, image


@pytest.fixture
def own_city(toy_city, tmp_path):
    """A copy of the toy set that the test may break."""
    root = tmp_path / 'city'
    shutil.copytree(toy_city, root)
    return str(root)


@pytest.mark.parametrize('workers', [0, 2])
def test_unreadable_image_stops_training_naming_it(
    own_city, tmp_path, workers
):
    rc, out, work, image = train(tmp_path, 'raise', own_city, workers, 'raise')
    assert rc != 0
    assert 'BadSampleError' in out or 'error:' in out, out[-3000:]
    assert f'{image}' in out, out[-3000:]
    assert 'cannot be loaded by LoadImageFromFile' in out, out[-3000:]
    assert 'sample_guard.on_bad=skip' in out
    assert not (work / 'iter_4.pth').exists()


@pytest.mark.parametrize('workers', [0, 2])
def test_skip_is_the_same_in_every_run_and_resumes_exactly(
    own_city, tmp_path, workers
):
    rc, out, first, image = train(tmp_path, 'a', own_city, workers, 'skip')
    assert rc == 0, out[-3000:]
    warned = [line for line in out.splitlines() if 'skipping bad' in line]
    assert warned and all(image in line for line in warned), out[-3000:]
    rc, out, second, _ = train(tmp_path, 'b', own_city, workers, 'skip')
    assert rc == 0, out[-3000:]
    a, b = state(first / 'iter_6.pth'), state(second / 'iter_6.pth')
    assert all(torch.equal(a[k], b[k]) for k in a)
    # resumed at iter_2, before the bad sample is drawn in iteration 3
    rc, out, resumed, _ = train(
        tmp_path, 'c', own_city, workers, 'skip', first / 'iter_2.pth'
    )
    assert rc == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    assert 'skipping bad sample' in out
    c = state(resumed / 'iter_6.pth')
    assert all(torch.equal(a[k], c[k]) for k in a)


def write_label_25(root):
    """Sets one pixel of the first training label to 25 (19 classes)."""
    info = toy_train_set(root).get_data_info(0)
    label = np.array(Image.open(info['seg_map_path']))
    label[3, 7] = 25
    Image.fromarray(label).save(info['seg_map_path'])
    return info


def test_label_25_named_by_check_files(own_city):
    info = write_label_25(own_city)
    lazy = dict(lazy_init=True, serialize_data=False)
    dataset = toy_train_set(own_city, **lazy)
    assert full_init_checked(dataset, 'toy') == []  # headers only: passes
    dataset = toy_train_set(own_city, **lazy)
    with pytest.raises(DatasetInputError) as err:
        full_init_checked(dataset, 'toy', check_files=True)
    text = str(err.value)
    assert info['seg_map_path'] in text
    assert 'label ids outside 0..18 and 255: 25 (1 px)' in text
    dataset = toy_train_set(own_city, **lazy)
    skipped = full_init_checked(
        dataset, 'toy', on_bad='skip', check_files=True
    )
    assert len(skipped) == 1 and len(dataset) == 7


def test_label_25_named_by_the_runtime_check(own_city):
    info = write_label_25(own_city)
    guard = SFSampleGuard(toy_train_set(own_city, LOADING))
    guard.full_init()
    with pytest.raises(BadSampleError) as err:
        guard[0]
    text = str(err.value)
    assert 'CityscapesDataset sample 0' in text
    assert info['img_path'] in text and info['seg_map_path'] in text
    assert 'label ids outside 0..18 and 255: 25 (1 px)' in text
    assert err.value.path == info['seg_map_path']  # the file to fix
    assert guard[1]['gt_seg_map'].shape == (64, 128)  # others load


def test_unreadable_label_is_named_as_the_bad_file(own_city):
    guard = SFSampleGuard(toy_train_set(own_city, LOADING))
    guard.full_init()
    info = guard.get_data_info(2)
    with open(info['seg_map_path'], 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(BadSampleError) as err:
        guard[2]
    assert 'cannot be loaded by LoadAnnotations' in str(err.value)
    assert err.value.path == info['seg_map_path']


def test_skip_replaces_deterministically_and_stops_after_max_bad(
    own_city, capsys
):
    from mmengine.logging import MMLogger

    MMLogger.get_instance('sample_guard', log_level='INFO')
    dataset = toy_train_set(own_city, LOADING)
    paths = [dataset.get_data_info(i)['img_path'] for i in range(8)]
    for i in (2, 5):
        with open(paths[i], 'wb') as f:
            f.write(b'\x89PNG broken')
    guard = SFSampleGuard(dataset, on_bad='skip', max_bad=2, seed=3)
    other = SFSampleGuard(
        toy_train_set(own_city, LOADING), on_bad='skip', seed=3
    )
    for idx in range(24):  # three passes of a sampler
        first, second = guard.replacement(idx, 0), other.replacement(idx, 0)
        assert first == second and first != idx
        assert first // 8 == idx // 8  # same pass over the data
    got = guard[2]
    assert got['img_path'] != paths[2]
    assert got['img_path'] == other[2]['img_path']  # same replacement
    guard[2], guard[5], guard[2]
    warned = [
        line
        for line in capsys.readouterr().out.splitlines()
        if 'skipping bad sample' in line
    ]
    # once per file and guard (``other`` met paths[2] once too)
    assert sum(paths[2] in line for line in warned) == 2
    assert sum(paths[5] in line for line in warned) == 1
    assert sorted(guard.bad_files) == sorted([paths[2], paths[5]])
    with open(paths[6], 'wb') as f:
        f.write(b'garbage')
    with pytest.raises(BadSampleError, match='3 bad files, more than'):
        guard[6]


def test_out_of_range_ids():
    label = np.array([[0, 18, 255, 19], [25, 25, 254, 3]], np.uint8)
    assert out_of_range_ids(label, 19) == {19: 1, 25: 2, 254: 1}
    assert out_of_range_ids(label.astype(np.int64) - 1, 19, -1) == {
        24: 2,
        253: 1,
        254: 1,
    }
    assert out_of_range_ids(np.array([-2, 0]), 19) == {-2: 1}
