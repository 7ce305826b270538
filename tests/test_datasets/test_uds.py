"""UDS over fixtures of the four datasets in their real layouts."""

import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))

import idd  # noqa: E402
import mapillary  # noqa: E402
from toy_driving import draw_scene, generate  # noqa: E402

from sfseg.datasets import IDD_TO_TRAIN, MAPILLARY_TO_TRAIN  # noqa: E402

SIZE = (64, 128)


def inverse(table):
    out = {}
    for src, dst in sorted(table.items()):
        out.setdefault(dst, src)
    return out


def save(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def make_uds_fixture(root, counts=(('train', 2), ('val', 1)), seed=0):
    """Four small datasets in their official layouts, labels converted."""
    rng = np.random.default_rng(seed)
    generate(
        osp.join(root, 'cityscapes'), 2, 1, 0, SIZE, seed, show_progress=False
    )
    to_map = np.full(256, 255, np.uint8)
    for t, s in inverse(MAPILLARY_TO_TRAIN).items():
        to_map[t] = s
    to_idd = np.full(256, 255, np.uint8)
    for t, s in inverse(IDD_TO_TRAIN).items():
        to_idd[t] = s
    truth = {}
    for split, n in counts:
        msplit = dict(train='training', val='validation')[split]
        for i in range(n):
            img, ids = draw_scene(*SIZE, rng)
            save(f'{root}/bdd/images/{split}/b{i}.jpg', img)
            save(f'{root}/bdd/labels/{split}/b{i}_train_id.png', ids)
            img, ids = draw_scene(*SIZE, rng)
            save(f'{root}/mapillary/{msplit}/images/m{i}.jpg', img)
            save(
                f'{root}/mapillary/{msplit}/v1.2/labels/m{i}.png', to_map[ids]
            )
            truth[f'mapillary19/{msplit}/labels/m{i}.png'] = ids
            img, ids = draw_scene(*SIZE, rng)
            save(
                f'{root}/IDD/leftImg8bit/{split}/0/{i:06d}_leftImg8bit.png',
                img,
            )
            save(
                f'{root}/IDD/gtFine/{split}/0/{i:06d}_gtFine_labelids.png',
                to_idd[ids],
            )
            truth[
                f'IDD19/gtFine/{split}/0/{i:06d}_gtFine_labelTrainIds.png'
            ] = ids
    mapillary.convert(
        f'{root}/mapillary', f'{root}/mapillary19', show_progress=False
    )
    idd.convert(f'{root}/IDD', f'{root}/IDD19', show_progress=False)
    return truth


def test_converted_fixture_round_trips(tmp_path):
    truth = make_uds_fixture(str(tmp_path))
    for rel, ids in truth.items():
        got = np.asarray(Image.open(tmp_path / rel))
        assert np.array_equal(got, ids), rel


def test_uds_dataset_tags_sources(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import DATASETS

    make_uds_fixture(str(tmp_path))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'uds_1024x1024.py')
    )
    dataset_cfg = cfg.val_dataloader.dataset
    for name, source in dataset_cfg.sources.items():
        source.data_root = str(
            tmp_path / osp.basename(source.data_root.rstrip('/'))
        )
    dataset = DATASETS.build(dataset_cfg)
    assert dataset.source_names == ['bdd', 'mapillary', 'idd', 'cityscapes']
    assert [dataset.get_data_info(i)['source'] for i in range(4)] == [
        'bdd',
        'mapillary',
        'idd',
        'cityscapes',
    ]
    sample = dataset[2]
    assert sample['data_samples'].source == 'idd'
    # images resized to 2048x1024 (official ResizeHW); mmseg scores the
    # prediction resized back to the original label size
    assert sample['inputs'].shape == (3, 1024, 2048)
    assert sample['data_samples'].gt_sem_seg.data.shape == (1, 64, 128)


UDS_CFG = """
_base_ = [
    '{repo}/configs/_base_/models/sfnet-lite_r18.py',
    '{repo}/configs/_base_/datasets/uds_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
]
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (64, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg))
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'source')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 64), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
root = '{root}'
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(sources=dict(
        bdd=dict(data_root=root + '/bdd', pipeline=train_pipeline),
        mapillary=dict(data_root=root + '/mapillary',
                       pipeline=train_pipeline),
        idd=dict(data_root=root + '/IDD', pipeline=train_pipeline),
        cityscapes=dict(data_root=root + '/cityscapes',
                        pipeline=train_pipeline))))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(sources=dict(
        bdd=dict(data_root=root + '/bdd', pipeline=test_pipeline),
        mapillary=dict(data_root=root + '/mapillary',
                       pipeline=test_pipeline),
        idd=dict(data_root=root + '/IDD', pipeline=test_pipeline),
        cityscapes=dict(data_root=root + '/cityscapes',
                        pipeline=test_pipeline))))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2))
"""


def test_uds_trains_and_reports_per_source_miou(tmp_path):
    make_uds_fixture(str(tmp_path / 'data'))
    cfg = tmp_path / 'uds_toy.py'
    cfg.write_text(UDS_CFG.format(repo=REPO, root=tmp_path / 'data'))
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'),
            str(cfg),
            '--work-dir',
            str(tmp_path / 'work'),
        ],
        env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(train) [2/2]' in out
    match = re.search(
        r'mIoU overall (\d+\.\d+); per source: bdd: (\d+\.\d+), mapillary: '
        r'(\d+\.\d+), idd: (\d+\.\d+), cityscapes: (\d+\.\d+)',
        out,
    )
    assert match, out[-4000:]
    assert re.search(r'mIoU\.cityscapes: \d', out)
