"""Every driving dataset config on fixtures in the real layouts: train and
eval samples, label values after each dataset's label handling, and the
CamVid fine-tuning start from a 19-class checkpoint."""

import os.path as osp

import numpy as np
import pytest
import torch
from common import REPO
from driving_fixtures import (
    SIZE,
    make_camvid_fixture,
    make_coarse_fixture,
    make_uds_fixture,
    save,
)
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS
from PIL import Image
from tool_loader import load_tool

BASES = osp.join(REPO, 'configs', '_base_', 'datasets')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('drive')
    make_uds_fixture(str(root))
    make_camvid_fixture(str(root / 'CamVid'))
    # Mapillary in its 66 raw ids for the 65-class configs
    rng = np.random.default_rng(1)
    for split in ('training', 'validation'):
        for i in range(2):
            save(
                f'{root}/mapillary/{split}/images/m{i}.jpg',
                rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8),
            )
            label = np.arange(SIZE[0] * SIZE[1]).reshape(SIZE) % 66
            save(
                f'{root}/mapillary/{split}/v1.2/labels/m{i}.png',
                label.astype(np.uint8),
            )
    return str(root)


def dataset_cfg(name, loader, data, cache):
    cfg = Config.fromfile(osp.join(BASES, name))
    cfg = cfg[loader].dataset
    inner = cfg
    if cfg.type == 'ClassUniformDataset':
        cfg.update(tile=32, cache_dir=cache)
        inner = cfg.dataset
    inner.data_root = osp.join(data, inner.data_root[len('data/') :])
    return cfg


@pytest.mark.parametrize(
    'name,train_type,max_height',
    [
        # official RandomSizeAndCrop: images smaller than the crop are
        # padded (0 / 255), so every sample is exactly 1024x1024
        ('bdd100k_1024x1024.py', 'BDD100KDataset', 1024),
        ('idd_1024x1024.py', 'ClassUniformDataset', 1024),
        ('mapillary_v1_65_1024x1024.py', 'ClassUniformDataset', 1024),
        # CamVid is first brought to 720x960, then rescaled and cropped
        ('camvid_720x960.py', 'CamVidDataset', 720),
    ],
)
def test_dataset_configs_give_samples(
    name, train_type, max_height, data, tmp_path
):
    train = dataset_cfg(name, 'train_dataloader', data, str(tmp_path))
    assert train.type == train_type
    dataset = DATASETS.build(train)
    out = dataset[0]
    seg = out['data_samples'].gt_sem_seg.data
    assert out['inputs'].shape[1:] == seg.shape[1:]
    assert out['inputs'].shape[1] <= max_height  # rescaled then cropped
    if max_height == 1024:
        assert tuple(out['inputs'].shape[1:]) == (1024, 1024)
        assert (seg == 255).any()  # the padding is ignored
    classes = len(dataset.metainfo['classes'])
    assert set(seg.unique().tolist()) <= set(range(classes)) | {255}
    val = DATASETS.build(dataset_cfg(name, 'val_dataloader', data, ''))
    assert len(val) >= 1 and val[0]['inputs'].shape[0] == 3


def test_mapillary_65_classes_and_1536_protocol(data):
    val = DATASETS.build(
        dataset_cfg('mapillary_v1_65_1024x1024.py', 'val_dataloader', data, '')
    )
    assert len(val.metainfo['classes']) == 65
    out = val[0]
    assert out['inputs'].shape == (3, 1536, 1536)
    assert out['data_samples'].ori_shape == (1536, 1536)  # scored there
    seg = out['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 1536, 1536)
    # id 65 (Unlabeled) -> 255; ids 0..64 keep their value
    values = set(seg.unique().tolist())
    assert 255 in values and values - {255} <= set(range(65))
    assert len(values) > 50


def test_camvid_void_becomes_ignore(data):
    val = DATASETS.build(
        dataset_cfg('camvid_720x960.py', 'val_dataloader', data, '')
    )
    assert len(val.metainfo['classes']) == 11
    info = val.get_data_info(0)
    raw = np.asarray(Image.open(info['seg_map_path']))
    seg = val[0]['data_samples'].gt_sem_seg.data[0].numpy()
    assert seg.shape == raw.shape  # scored at the original size
    assert (seg[raw == 11] == 255).all()
    assert np.array_equal(seg[raw < 11], raw[raw < 11])


def test_coarse_boost_config_builds_on_fixture(data, tmp_path):
    coarse_src = osp.join(data, 'cityscapes')
    make_coarse_fixture(coarse_src, num=2)
    cityscapes_coarse = load_tool(
        'tools/dataset_converters/cityscapes_coarse.py'
    )

    cityscapes_coarse.convert(
        coarse_src, osp.join(data, 'cityscapes_coarse19'), show_progress=False
    )
    cfg = dataset_cfg(
        'cityscapes-coarse-boost_1024x1024.py',
        'train_dataloader',
        data,
        str(tmp_path),
    )
    cfg.boost_dataset.data_root = cfg.dataset.data_root
    assert cfg.boost_classes == [14, 15, 16, 3, 12, 17, 4]
    cfg.boost_classes = [13]  # the toy scenes have cars, not trucks
    dataset = DATASETS.build(cfg)
    assert len(dataset) == 2  # the fine training images only
    assert dataset.num_boost_centroids > 0
    assert dataset[0]['inputs'].shape[0] == 3


def test_camvid_finetune_starts_from_a_19_class_checkpoint(tmp_path):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import load_checkpoint

    uds = Config.fromfile(
        osp.join(
            REPO,
            'configs',
            'sfnet',
            'sfnet_r18-d32_8xb4-131k_uds-1024x1024.py',
        )
    )
    camvid = Config.fromfile(
        osp.join(
            REPO,
            'configs',
            'sfnet',
            'sfnet_r18-d32_8xb2-10k_camvid-720x960.py',
        )
    )
    assert camvid.load_from.endswith(
        'sfnet_r18-d32_8xb4-131k_uds-1024x1024/iter_131040.pth'
    )
    source = revert_sync_batchnorm(MODELS.build(uds.model))
    path = str(tmp_path / 'uds.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    target = revert_sync_batchnorm(MODELS.build(camvid.model))
    fresh = target.decode_head.conv_seg.weight.detach().clone()
    load_checkpoint(target, path, strict=False)  # as Runner's load_from
    for key, value in source.state_dict().items():
        if 'conv_seg' in key:
            continue
        assert torch.equal(target.state_dict()[key], value), key
    assert target.decode_head.conv_seg.weight.shape[0] == 11
    assert torch.equal(target.decode_head.conv_seg.weight, fresh)
