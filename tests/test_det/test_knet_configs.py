"""Every K-Net panoptic config: model, data pipeline, schedule, model zoo."""

import glob
import os.path as osp

import pytest
import torch
from knet_helpers import REPO, build_det
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

CFG_DIR = osp.join(REPO, 'configs', 'knet_panoptic')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py')))
# Parameters of the built models (the README and metafile quote them).
PARAMS = {
    'knet-s3_r50_fpn_1x_coco-panoptic.py': 37536852,
    'knet-s3_stdc1-fpn_8xb2-36e_coco-panoptic.py': 18839220,
    'knet-s3_sf-stdc1_8xb2-36e_coco-panoptic.py': 19774900,
    'knet-s3_stdc2-fpn_8xb2-36e_coco-panoptic.py': 22869684,
    'knet-s3_sf-stdc2_8xb2-36e_coco-panoptic.py': 23805364,
    'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py': 25027924,
    'knet-s3_stdc1-fpn_8xb2-36e_cityscapes-panoptic.py': 18722028,
    'knet-s3_sf-stdc1_8xb2-36e_cityscapes-panoptic.py': 19657708,
    'knet-s3_stdc2-fpn_8xb2-36e_cityscapes-panoptic.py': 22752492,
    'knet-s3_sf-stdc2_8xb2-36e_cityscapes-panoptic.py': 23688172,
}
# Table 15 pairs: the SF model and its FPN baseline.
PAIRS = [
    (f'knet-s3_sf-stdc{v}_8xb2-36e_{d}-panoptic.py',
     f'knet-s3_stdc{v}-fpn_8xb2-36e_{d}-panoptic.py')
    for v in (1, 2) for d in ('coco', 'cityscapes')
]  # fmt: skip


def load(name):
    return Config.fromfile(osp.join(CFG_DIR, name))


def expected_split(name):
    return (8, 11) if 'cityscapes' in name else (80, 53)


def test_config_list():
    assert set(CONFIGS) == set(PARAMS)


@pytest.fixture(scope='module')
def built():
    """name -> (config, model); every model is built once."""
    cache = {}

    def get(name):
        if name not in cache:
            cfg = load(name)
            cache[name] = (cfg, revert_sync_batchnorm(build_det(cfg.model)))
        return cache[name]

    return get


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_its_model(name, built):
    cfg, model = built(name)
    assert cfg.default_scope == 'mmdet'
    assert 'sfseg.det' in cfg.custom_imports.imports
    things, stuff = expected_split(name)
    assert (model.num_things_classes, model.num_stuff_classes) == (
        things,
        stuff,
    )
    assert len(model.roi_head.mask_head) == 3
    for head in model.roi_head.mask_head:
        assert head.fc_cls.out_features == things + stuff
    assert model.rpn_head.conv_seg.out_channels == things + stuff
    assert model.rpn_head.num_proposals == 100
    neck = type(model.neck).__name__
    assert neck == ('SFNeck' if '_sf-' in name else 'FPN')
    if 'stdc' in name:
        stdc = 'STDCNet2' if 'stdc2' in name else 'STDCNet1'
        assert cfg.model.backbone.stdc_type == stdc
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]


@pytest.mark.parametrize('name', CONFIGS)
def test_model_runs_in_tensor_mode(name, built):
    _, model = built(name)
    things, stuff = expected_split(name)
    model.eval()
    with torch.no_grad():
        stages = model(torch.randn(1, 3, 64, 96), mode='tensor')
    assert len(stages) == 3
    cls, masks = stages[-1]
    assert cls.shape == (1, 100 + stuff, things + stuff)
    assert masks.shape == (1, 100 + stuff, 16, 24)
    assert torch.isfinite(cls).all() and torch.isfinite(masks).all()


@pytest.mark.parametrize('sf,fpn', PAIRS)
def test_sf_neck_costs_the_same_over_fpn_for_both_stdc(sf, fpn):
    """PPM + 3 FAMs instead of FPN's 4th lateral and output conv."""
    assert PARAMS[sf] - PARAMS[fpn] == 935680


def _datasets(cfg):
    from mmdet.registry import DATASETS

    out = {}
    for split in ('train', 'val', 'test'):
        dataset = dict(cfg[f'{split}_dataloader'].dataset, lazy_init=True)
        out[split] = DATASETS.build(dataset)
    return out


def _transform_types(dataset):
    return [type(t).__name__ for t in dataset.pipeline.transforms]


def check_cityscapes_crop(pipeline):
    """The crop keeps a whole 1024x2048 frame: mmdet's RandomCrop reads
    ``crop_size`` as (width, height), so read it back by cropping."""
    import numpy as np

    (crop,) = [
        t for t in pipeline.transforms if type(t).__name__ == 'RandomCrop'
    ]
    for h, w in ((2048, 4096), (1024, 2048), (512, 1024)):
        out = crop(dict(img=np.zeros((h, w, 3), np.uint8), img_shape=(h, w)))
        assert out['img'].shape[:2] == (min(h, 1024), min(w, 2048)), (h, w)


@pytest.mark.parametrize('name', CONFIGS)
def test_data_and_schedule(name):
    cfg = load(name)
    datasets = _datasets(cfg)
    train, test = datasets['train'], datasets['test']
    assert type(train).__name__ == 'CocoPanopticDataset'
    assert cfg.train_dataloader.batch_size == 2
    things, stuff = expected_split(name)
    meta = train.metainfo
    assert len(meta['classes']) == things + stuff
    assert meta['classes'][:things] == tuple(meta['thing_classes'])
    assert len(meta['stuff_classes']) == stuff
    train_types = _transform_types(train)
    assert train_types[:2] == ['LoadImageFromFile', 'LoadPanopticAnnotations']
    assert train_types[-1] == 'PackDetInputs'
    resize = train.pipeline.transforms[2]
    if 'r50' in name:
        # The official 1x recipe: single scale, 12 epochs, steps 8 and 11.
        assert type(resize).__name__ == 'Resize'
        assert resize.scale == (1333, 800)
        assert cfg.train_cfg.max_epochs == 12
        (step,) = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
        assert step.milestones == [8, 11]
    elif 'coco' in name:
        # detectron2's multi-scale training: shorter side 640..800 step 32
        assert type(resize).__name__ == 'RandomChoiceResize'
        assert resize.scales == [(1333, s) for s in range(640, 801, 32)]
        assert 'train2017' in train.data_prefix['img']
        assert cfg.load_from is None
    else:
        assert type(resize).__name__ == 'RandomResize'
        assert resize.ratio_range == (0.5, 2.0)
        assert 'RandomCrop' in train_types
        check_cityscapes_crop(train.pipeline)
        # Fine-tuned from the COCO model of the same architecture.
        coco = name.replace('cityscapes', 'coco')
        assert osp.isfile(osp.join(CFG_DIR, coco))
        assert cfg.load_from == f'work_dirs/{coco[:-3]}/epoch_36.pth'
    assert test.test_mode
    assert _transform_types(test)[-1] == 'PackDetInputs'
    assert cfg.test_evaluator.type == 'CocoPanopticMetric'
    assert cfg.test_evaluator.nproc <= 2
    # K-Net's optimiser and (except R50 1x) the 36-epoch schedule
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == 0.25
    assert cfg.optim_wrapper.clip_grad.max_norm == 1
    if 'r50' in name:
        return
    assert cfg.train_cfg.max_epochs == 36
    (step,) = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert step.milestones == [27, 33] and step.end == 36


def test_metafile_and_readme_cover_every_config():
    import yaml

    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    meta = 'configs/knet_panoptic/metafile.yaml'
    assert meta in index['Import']
    with open(osp.join(REPO, meta)) as f:
        models = yaml.safe_load(f)['Models']
    listed = {}
    for m in models:
        assert osp.isfile(osp.join(REPO, m['Config']))
        assert osp.basename(m['Config']) == m['Name'] + '.py'
        listed[m['Name'] + '.py'] = m
    assert set(listed) == set(CONFIGS)
    for name, m in listed.items():
        assert m['Metadata']['Parameters'] == PARAMS[name]
    quoted = {
        n: m['Results'][0]['Metrics']['PQ']
        for n, m in listed.items()
        if 'Results' in m
    }
    assert quoted == {
        'knet-s3_r50_fpn_1x_coco-panoptic.py': 44.3,
        'knet-s3_stdc1-fpn_8xb2-36e_cityscapes-panoptic.py': 58.0,
        'knet-s3_sf-stdc1_8xb2-36e_cityscapes-panoptic.py': 59.2,
        'knet-s3_stdc2-fpn_8xb2-36e_cityscapes-panoptic.py': 59.8,
        'knet-s3_sf-stdc2_8xb2-36e_cityscapes-panoptic.py': 60.3,
    }
    with open(osp.join(CFG_DIR, 'README.md')) as f:
        readme = f.read()
    assert 'quoted, not reproduced' in readme
    for name in CONFIGS:
        assert f']({name})' in readme, name
        assert f'{PARAMS[name]:,}' in readme, name
    for value in ('44.3', '58.0', '59.2', '59.8', '60.3'):
        assert value in readme


@pytest.mark.parametrize('name', [c for c in CONFIGS if 'cityscapes' in c])
def test_cityscapes_fine_tune_loads_the_coco_model(name, built, tmp_path):
    """Only the class-dependent tensors are skipped by ``load_from``.

    mmengine's non-strict load (what ``load_from`` uses) keeps the
    Cityscapes model's own ``conv_seg`` (133 -> 19 rows: the stuff kernels
    and the semantic classifier) and the three ``fc_cls`` layers; every
    other tensor comes from the COCO model.
    """
    from mmengine.runner import load_checkpoint

    _, coco = built(name.replace('cityscapes', 'coco'))
    _, city = built(name)
    path = tmp_path / 'coco.pth'
    torch.save({'state_dict': coco.state_dict()}, path)
    before = {k: v.clone() for k, v in city.state_dict().items()}
    load_checkpoint(city, str(path), map_location='cpu', strict=False)
    coco_sd = coco.state_dict()
    skipped = set()
    for key, value in city.state_dict().items():
        if value.shape == coco_sd[key].shape:
            assert torch.equal(value, coco_sd[key]), key
        else:
            assert torch.equal(value, before[key]), key
            skipped.add(key)
    assert skipped == {
        'rpn_head.conv_seg.weight',
        'rpn_head.conv_seg.bias',
    } | {
        f'roi_head.mask_head.{i}.fc_cls.{p}'
        for i in range(3)
        for p in ('weight', 'bias')
    }
    assert city.rpn_head.conv_seg.weight.shape[0] == 19
