import glob
import os.path as osp

import pytest
from common import REPO
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS

# mmseg configs; configs/knet_panoptic (mmdet models) are tested in test_det
CONFIGS = sorted(
    p
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and 'knet_panoptic' not in p
)

# Official parameter counts at 19 classes (brief 4.1); SFNet-Lite-R18 is the
# official 12,296,074 minus the 216,211 it builds but never uses.
OFFICIAL_PARAMS = {
    'sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py': 12869715,
    'sfnet/sfnet-dsn_r18-d32_8xb2-56k_cityscapes-1024x1024.py': 13320588,
    'sfnet/sfnet_r50-d32_8xb2-56k_cityscapes-1024x1024.py': 31325139,
    'sfnet/sfnet_r101-d32_8xb2-56k_cityscapes-1024x1024.py': 50317267,
    'sfnet_lite/sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py': 12296074
    - 216211,
    # STDC models minus the unused ImageNet classifier (3,125,248) and, for
    # SFNet-Lite, minus the never-run dsn (150,291) as well.
    'sfnet/sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py': 9117619 - 3125248,
    'sfnet/sfnet_stdc2_8xb2-56k_cityscapes-1024x1024.py': 13148083 - 3125248,
    'sfnet_lite/sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024.py': 9709162
    - 3275539,
    'sfnet_lite/sfnet-lite_stdc2_8xb2-186k_cityscapes-1024x1024.py': 13739626
    - 3275539,
    'sfnet/sfnet_df1_8xb2-56k_cityscapes-1024x1024.py': 8422387,
    'sfnet/sfnet_df2_8xb2-56k_cityscapes-1024x1024.py': 17876467,
    'sfnet/sfnet-dsn_df1_8xb2-56k_cityscapes-1024x1024.py': 8498969,
}


def build(path, **overrides):
    cfg = Config.fromfile(path)
    if overrides:
        cfg.merge_from_dict(overrides)
    return revert_sync_batchnorm(MODELS.build(cfg.model)), cfg


def test_there_are_configs():
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS]
)
def test_config_builds_and_runs(path):
    import torch

    model, cfg = build(path)
    assert cfg.get('custom_imports', {}).get('imports') == ['sfseg']
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 128), None, mode='tensor')
    # logits at the finest selected level: stride 4 (8 or 16 for DFNet)
    num_classes = cfg.model.decode_head.num_classes
    assert out.shape[:2] == (1, num_classes)
    assert tuple(out.shape[2:]) in ((16, 32), (8, 16), (4, 8))


@pytest.mark.parametrize('name,count', sorted(OFFICIAL_PARAMS.items()))
def test_parameter_counts_match_official(name, count):
    model, _ = build(osp.join(REPO, 'configs', name))
    assert sum(p.numel() for p in model.parameters()) == count


def test_mismatched_in_channels_fail_at_build_time():
    path = osp.join(
        REPO,
        'configs',
        'sfnet',
        'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    )
    with pytest.raises(ValueError) as err:
        build(path, **{'model.decode_head.in_channels': [64, 128, 512, 512]})
    msg = str(err.value)
    assert 'decode_head (SFHead)' in msg
    assert 'expects 512 channels at in_index 2' in msg
    assert 'gives 256' in msg
    with pytest.raises(ValueError, match=r'in_index 5 is out of range'):
        build(path, **{'model.decode_head.in_index': [0, 1, 2, 5]})


def test_metafiles_cover_every_config():
    import yaml

    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    listed = set()
    for meta in index['Import']:
        with open(osp.join(REPO, meta)) as f:
            for model in yaml.safe_load(f)['Models']:
                assert osp.isfile(osp.join(REPO, model['Config'])), model
                assert osp.basename(model['Config'])[:-3] == model['Name']
                listed.add(model['Config'])
    zoo = {
        osp.relpath(p, REPO)
        for p in CONFIGS
        if osp.basename(osp.dirname(p)) in ('sfnet', 'sfnet_lite')
    }
    # configs/knet_panoptic: checked in tests/test_det/test_knet_configs.py
    assert zoo == {
        c for c in listed if not c.startswith('configs/knet_panoptic/')
    }


@pytest.mark.parametrize('folder', ['sfnet', 'sfnet_lite', 'toy'])
def test_every_config_folder_has_a_readme_listing_its_configs(folder):
    with open(osp.join(REPO, 'configs', folder, 'README.md')) as f:
        text = f.read()
    for path in CONFIGS:
        if osp.basename(osp.dirname(path)) == folder:
            assert osp.basename(path) in text, path


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS]
)
def test_auto_scale_lr_base_is_the_named_batch(path):
    """``--auto-scale-lr`` scales from the batch the name states (the
    official 8 GPUs x 2 or x 4 images), off unless asked for."""
    import re

    gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)-', path).groups())
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr == dict(
        enable=False, base_batch_size=gpus * per_gpu
    )
