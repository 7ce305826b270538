"""UDS over fixtures of the four datasets in their real layouts."""

import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
from common import REPO
from driving_fixtures import make_uds_fixture
from PIL import Image


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
    # image and label resized to 2048x1024 (official ResizeHW) and scored
    # at that size (SFScoreAtInputSize), as the official evaluation
    assert sample['inputs'].shape == (3, 1024, 2048)
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 1024, 2048)
    assert sample['data_samples'].ori_shape == (1024, 2048)
    # nearest-neighbour label resize keeps exactly the original classes
    original = np.asarray(Image.open(dataset.get_data_info(2)['seg_map_path']))
    assert set(np.unique(seg.numpy())) == set(np.unique(original))


UDS_CFG = """
_base_ = [
    '{repo}/configs/_base_/models/sfnet-lite_r18.py',
    '{repo}/configs/_base_/datasets/uds_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '{repo}/configs/_base_/schedules/schedule_sgd-epoch-poly.py',
]
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (64, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(norm_cfg=norm_cfg))
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'source')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='SFRandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='SFCentroidCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(128, 64), keep_ratio=False),
    dict(type='SFScoreAtInputSize'),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
root = '{root}'
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(tile=32, cache_dir='{cache}', dataset=dict(sources=dict(
        bdd=dict(data_root=root + '/bdd', pipeline=train_pipeline),
        mapillary=dict(data_root=root + '/mapillary',
                       pipeline=train_pipeline),
        idd=dict(data_root=root + '/IDD', pipeline=train_pipeline),
        cityscapes=dict(data_root=root + '/cityscapes',
                        pipeline=train_pipeline)))))
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
train_cfg = dict(max_iters=2, val_interval=2)
# official per-epoch poly with 1-iteration epochs: 0.01 * (1 - 1/2), then 0
param_scheduler = [dict(type='SFEpochPolyLR', iters_per_epoch=1, max_epochs=2)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2),
    visualization=dict(type='SegVisualizationHook'))
"""


def test_uds_trains_and_reports_per_source_miou(tmp_path):
    make_uds_fixture(str(tmp_path / 'data'))
    cfg = tmp_path / 'uds_toy.py'
    cfg.write_text(
        UDS_CFG.format(
            repo=REPO, root=tmp_path / 'data', cache=tmp_path / 'cache'
        )
    )
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
    # SFEpochPolyLR through the Runner: constant per epoch, 0 in the last
    assert re.search(r'Iter\(train\) \[1/2\] +lr: 5\.0000e-03', out)
    assert re.search(r'Iter\(train\) \[2/2\] +lr: 0\.0000e\+00', out)
    match = re.search(
        r'mIoU overall (\d+\.\d+); per source: bdd: (\d+\.\d+), mapillary: '
        r'(\d+\.\d+), idd: (\d+\.\d+), cityscapes: (\d+\.\d+)',
        out,
    )
    assert match, out[-4000:]
    assert re.search(r'mIoU\.cityscapes: \d', out)
    # class-uniform sampling over the union computed its centroids once
    assert len(os.listdir(tmp_path / 'cache')) == 1
