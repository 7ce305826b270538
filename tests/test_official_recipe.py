"""Every SFNet config follows its official script (research notes section
7.2): batch, learning rate, length in epochs of the official sampler,
per-epoch poly, OHEM 10k (--ohem) or 100k (CriterionSFNet), the official
augmentation, class-uniform sampling and the ImageNet backbone."""

import glob
import os.path as osp

import pytest
from common import REPO
from mmengine.config import Config

# name prefix -> (batch, lr, iters per epoch, epochs, min_kept, dsn,
#                 class-uniform)
CITY = (2, 0.01, 186, 300, 10000, False, True)
SCRIPTS = {
    'sfnet_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-dsn_r18-d32_8xb2-56k_cityscapes': (
        2,
        0.01,
        186,
        300,
        100000,
        True,
        True,
    ),
    'sfnet_r50-d32_8xb2-56k_cityscapes': CITY,
    'sfnet_r101-d32_8xb2-56k_cityscapes': CITY,
    'sfnet_df1_8xb2-56k_cityscapes': CITY,
    'sfnet_df2_8xb2-56k_cityscapes': CITY,
    'sfnet-dsn_df1_8xb2-56k_cityscapes': (
        2,
        0.01,
        186,
        300,
        100000,
        True,
        True,
    ),
    'sfnet-dsn_df2_8xb2-56k_cityscapes': (
        2,
        0.01,
        186,
        300,
        100000,
        True,
        True,
    ),
    'sfnet_stdc1_8xb2-56k_cityscapes': CITY,
    'sfnet_stdc2_8xb2-56k_cityscapes': CITY,
    'fpn-ppm_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-fam4_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-fam8_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-fam16_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-famk1_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-famk5_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-noppm_r18-d32_8xb2-56k_cityscapes': CITY,
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024': (
        2,
        0.01,
        186,
        1000,
        100000,
        False,
        True,
    ),
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-coarse-boost': (
        2,
        0.01,
        186,
        1000,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc1_8xb2-186k_cityscapes': (
        2,
        0.01,
        186,
        1000,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc2_8xb2-186k_cityscapes': (
        2,
        0.01,
        186,
        1000,
        100000,
        False,
        True,
    ),
    'sfnet_r18-d32_8xb4-65k_bdd100k': (4, 0.01, 218, 300, 10000, False, False),
    'sfnet_r18-d32_8xb4-65k_idd': (4, 0.01, 218, 300, 10000, False, True),
    'sfnet_r18-d32_8xb4-169k_mapillary': (
        4,
        0.01,
        562,
        300,
        10000,
        False,
        True,
    ),
    # no official SFNet-R18 UDS script: as the STDC v1 UDS scripts, lr 0.01
    'sfnet_r18-d32_8xb4-131k_uds': (4, 0.01, 1092, 120, 10000, False, True),
    'sfnet_stdc1_8xb4-131k_uds': (4, 0.02, 1092, 120, 10000, False, True),
    'sfnet_stdc2_8xb4-131k_uds': (4, 0.02, 1092, 120, 10000, False, True),
    'sfnet-lite_r18-d32_8xb4-76k_bdd100k': (
        4,
        0.02,
        218,
        350,
        100000,
        False,
        False,
    ),
    # class-uniform 0.5 in the script, but 720p images have no 1024 tile:
    # only the random half remains, 109 iterations per epoch
    'sfnet-lite_stdc1_8xb4-38k_bdd100k': (
        4,
        0.02,
        109,
        350,
        100000,
        False,
        False,
    ),
    'sfnet-lite_stdc2_8xb4-38k_bdd100k': (
        4,
        0.02,
        109,
        350,
        100000,
        False,
        False,
    ),
    'sfnet-lite_r18-d32_8xb4-76k_idd': (
        4,
        0.02,
        218,
        350,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc1_8xb4-76k_idd': (4, 0.02, 218, 350, 100000, False, True),
    'sfnet-lite_stdc2_8xb4-76k_idd': (4, 0.02, 218, 350, 100000, False, True),
    'sfnet-lite_r18-d32_8xb4-197k_mapillary': (
        4,
        0.02,
        562,
        350,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc1_8xb4-197k_mapillary': (
        4,
        0.02,
        562,
        350,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc2_8xb4-197k_mapillary': (
        4,
        0.02,
        562,
        350,
        100000,
        False,
        True,
    ),
    'sfnet-lite_r18-d32_8xb4-131k_uds': (
        4,
        0.02,
        1092,
        120,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc1_8xb4-382k_uds': (
        4,
        0.02,
        1092,
        350,
        100000,
        False,
        True,
    ),
    'sfnet-lite_stdc2_8xb4-382k_uds': (
        4,
        0.02,
        1092,
        350,
        100000,
        False,
        True,
    ),
}
OFFICIAL_AUG = [
    'LoadImageFromFile',
    'LoadAnnotations',
    'SFRandomSizeAndCrop',
    'RandomFlip',
    'SFColorJitter',
    'SFGaussianBlur',
    'PackSegInputs',
]
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'sfnet*', '*cityscapes*.py'))
    + glob.glob(osp.join(REPO, 'configs', 'sfnet*', '*_8xb4-*.py'))
)


def script_of(path):
    name = osp.basename(path)
    found = [k for k in SCRIPTS if name.startswith(k)]
    assert len(found) == 1, f'{name}: no single official script ({found})'
    return SCRIPTS[found[0]]


def inner_dataset(loader):
    dataset = loader.dataset
    while dataset.get('dataset') is not None:
        dataset = dataset.dataset
    return dataset


def test_every_script_has_a_config():
    names = [osp.basename(p) for p in CONFIGS]
    for prefix in SCRIPTS:
        assert any(n.startswith(prefix) for n in names), prefix
    assert len(CONFIGS) == len(SCRIPTS)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_follows_its_official_script(path):
    batch, lr, ipe, epochs, kept, dsn, uniform = script_of(path)
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=lr, momentum=0.9, weight_decay=1e-4
    )
    (sched,) = cfg.param_scheduler
    assert sched.type == 'SFEpochPolyLR'
    assert (sched.iters_per_epoch, sched.max_epochs) == (ipe, epochs)
    assert sched.get('power', 1.0) == 1.0
    assert cfg.train_cfg.max_iters == ipe * epochs
    head = cfg.model.decode_head
    assert 'sampler' not in head
    assert head.loss_decode.type == 'SFOhemCrossEntropy'
    assert head.loss_decode.min_kept == kept
    assert head.loss_decode.get('thresh', 0.7) == 0.7
    assert head.align_corners is True  # CriterionSFNet upsamples with it
    if dsn:
        assert head.dsn_loss_decode.type == 'SFOhemCrossEntropy'
        assert head.dsn_loss_decode.min_kept == 100000
        assert head.dsn_loss_decode.get('loss_weight', 1.0) == 1.0
    else:
        assert 'dsn_loss_decode' not in head
    dataset = cfg.train_dataloader.dataset
    if uniform:
        assert dataset.type == 'ClassUniformDataset'
        assert (dataset.uniform_ratio, dataset.tile) == (0.5, 1024)
    else:
        assert dataset.type != 'ClassUniformDataset'
    pipeline = inner_dataset(cfg.train_dataloader).get('pipeline')
    if not pipeline:  # UDS: each source has its own loading
        pipeline = cfg.train_pipeline
    types = [t.type for t in pipeline]
    assert [t for t in types if t in OFFICIAL_AUG] == OFFICIAL_AUG, types
    crop = next(t for t in pipeline if t.type == 'SFRandomSizeAndCrop')
    assert tuple(crop.ratio_range) == (0.5, 2.0)
    assert tuple(crop.crop_size) == (1024, 1024)
    assert crop.get('interpolation', 'bicubic') == 'bicubic'
    flip = next(t for t in pipeline if t.type == 'RandomFlip')
    assert flip.prob == 0.5
    pre = cfg.model.data_preprocessor
    assert pre.mean == [123.675, 116.28, 103.53]
    assert pre.std == [58.395, 57.12, 57.375] and pre.bgr_to_rgb
    # every official script starts from the ImageNet weights
    assert cfg.model.backbone.init_cfg == dict(type='SFImageNetInit')
    # faults: NaN gradients stop training; slurm signals checkpoint;
    # compile=True compiles the network; official files as load_from
    assert cfg.optim_wrapper.type == 'SFOptimWrapper'
    assert cfg.optim_wrapper.nonfinite == 'stop'
    assert [h.type for h in cfg.custom_hooks] == [
        'SFRandomStateHook',
        'SFRequeueHook',
        'SFCompileHook',
        'SFOfficialWeightsHook',
    ]


@pytest.mark.parametrize(
    'name, synced, plain',
    [
        (
            'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
            [
                'backbone.',
                'decode_head.fpn.context.',
                'decode_head.fpn.fpn_in.',
            ],
            ['decode_head.fpn.fpn_out.', 'decode_head.conv_last.'],
        ),
        (
            'sfnet-dsn_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
            ['backbone.', 'decode_head.fpn.fpn_in.', 'decode_head.dsn.'],
            ['decode_head.fpn.fpn_out.', 'decode_head.conv_last.'],
        ),
        (
            'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
            [
                'backbone.',
                'decode_head.fpn.context.',
                'decode_head.fpn.fpn_in.',
            ],
            ['decode_head.conv_last.'],
        ),
        (  # STDC: only the depthwise stride-2 'avd_layer' BNs are synced
            'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py',
            ['backbone.stages.2.0.downsample.', 'decode_head.fpn.fpn_in.'],
            [
                'backbone.stages.0.',
                'backbone.stages.1.',
                'backbone.stages.2.0.layers.',
                'backbone.stages.4.1.layers.',
                'decode_head.conv_last.',
            ],
        ),
        (  # DFNet: stem and shortcut BNs synced, basic-block BNs plain
            'sfnet_df2_8xb2-56k_cityscapes-1024x1024.py',
            [
                'backbone.stage1.',
                'backbone.stage2_1.0.downsample.',
                'decode_head.fpn.fpn_in.',
            ],
            [
                'backbone.stage2_1.0.bn1',
                'backbone.stage3_1.5.bn2',
                'decode_head.fpn.fpn_out.',
            ],
        ),
    ],
)
def test_syncbn_only_where_the_official_model_syncs(name, synced, plain):
    """Research notes 2.1: SyncBN in the ResNet-D backbone, PPM, fpn_in
    and dsn, STDC's stride-2 depthwise BNs and DFNet's stem and shortcut
    BNs; plain BN in fpn_out, conv_last, STDC's ConvX and DFNet's blocks."""
    from mmseg.registry import MODELS

    from sfseg.utils import resolve_config

    model = MODELS.build(Config.fromfile(resolve_config(name)).model)
    kinds = {
        n: type(m).__name__
        for n, m in model.named_modules()
        if 'BatchNorm' in type(m).__name__
    }
    for prefix in synced:
        found = [k for n, k in kinds.items() if n.startswith(prefix)]
        assert found and set(found) == {'SyncBatchNorm'}, prefix
    for prefix in plain:
        found = [k for n, k in kinds.items() if n.startswith(prefix)]
        assert found and set(found) == {'BatchNorm2d'}, prefix
