"""Official K-Net COCO checkpoints load into the R50 config's model.

``knet_s3_r50_fpn_coco-panoptic.tsv`` of
``sfseg/official_checks/official_keys/`` lists every
state_dict entry of the official ``knet_s3_r50_fpn_1x_coco-panoptic``
model (ZwwWayne/K-Net 5e50ee5, mmdet 2.x) as ``key<TAB>shape<TAB>dtype``:
ResNet-50 + FPN as mmdet names them, then the K-Net heads as the official
modules name them (research brief 2.7). Only names and shapes are stored.
"""

import os.path as osp
from collections import OrderedDict

import pytest
import torch
from knet_helpers import R50_1X, build_det
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from sfseg.official_checks.official_layouts import OFFICIAL_KEYS

LAYOUT = osp.join(OFFICIAL_KEYS, 'knet_s3_r50_fpn_coco-panoptic.tsv')
NUM_ENTRIES = 502


def official_state_dict(seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    with open(LAYOUT) as f:
        for line in f:
            key, shape, dtype = line.rstrip('\n').split('\t')
            shape = tuple(int(s) for s in shape.split(',')) if shape else ()
            if dtype == 'int64':
                state[key] = torch.randint(0, 100, shape, generator=gen)
            else:
                state[key] = torch.randn(shape, generator=gen)
    return state


@pytest.fixture(scope='module')
def r50_model(_det_registered):
    cfg = Config.fromfile(R50_1X).model
    cfg.backbone.init_cfg = None  # no download
    return build_det(cfg)


def test_layout_file_is_complete():
    state = official_state_dict()
    assert len(state) == NUM_ENTRIES
    prefixes = {k.split('.')[0] for k in state}
    assert prefixes == {'backbone', 'neck', 'rpn_head', 'roi_head'}
    assert state['rpn_head.conv_seg.weight'].shape == (133, 256, 1, 1)
    assert state['rpn_head.init_kernels.weight'].shape == (100, 256, 1, 1)
    key = 'roi_head.mask_head.2.attention.attn.in_proj_weight'
    assert state[key].shape == (768, 256)


def test_official_layout_loads_strict(r50_model):
    state = official_state_dict()
    result = r50_model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    own = r50_model.state_dict()
    assert set(own) == set(state)
    assert all(own[k].shape == v.shape for k, v in state.items())
    for key in (
        'rpn_head.localization_fpn.convs_all_levels.3.conv2.gn.weight',
        'rpn_head.localization_fpn.aux_convs.0.conv.weight',
        'roi_head.mask_head.1.kernel_update_conv.input_layer.weight',
        'roi_head.mask_head.2.ffn.layers.0.0.weight',
        'roi_head.mask_head.0.fc_cls.bias',
    ):
        assert torch.equal(own[key], state[key]), key


def test_released_checkpoint_file_loads_strict(r50_model, tmp_path):
    """The released format, as mmcv 1.x ``save_checkpoint`` writes it
    (``meta`` of plain values, an OrderedDict state_dict, the optimizer),
    through mmengine with sfseg's weights-only loader and no trust
    switch."""
    import numpy as np

    state = official_state_dict(seed=1)
    path = tmp_path / 'knet_s3_r50_fpn_1x_coco-panoptic.pth'
    param = torch.nn.Parameter(torch.ones(2))
    optim = torch.optim.AdamW([param], lr=1e-4)
    param.grad = torch.ones(2)
    optim.step()
    meta = dict(
        mmcv_version='1.3.8',
        time='Sat Jul 10 12:00:00 2021',
        mmdet_version='2.14.0',
        CLASSES=('person', 'bicycle'),
        config='model = dict(type="KNet")',
        env_info='sys.platform: linux',
        seed=0,
        exp_name='knet_s3_r50_fpn_1x_coco-panoptic.py',
        epoch=12,
        iter=88000,
        hook_msgs=dict(last_ckpt='work_dirs/epoch_12.pth'),
        best_score=np.float64(0.447),
    )
    torch.save(
        {'meta': meta, 'state_dict': state, 'optimizer': optim.state_dict()},
        path,
    )
    load_checkpoint(r50_model, str(path), map_location='cpu', strict=True)
    got = r50_model.roi_head.mask_head[0].kernel_update_conv.fc_norm.weight
    key = 'roi_head.mask_head.0.kernel_update_conv.fc_norm.weight'
    assert torch.equal(got, state[key])


def test_r50_1x_config_recipe():
    cfg = Config.fromfile(R50_1X)
    assert cfg.custom_imports.imports == ['sfseg.det']
    assert cfg.model.type == 'KNet'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == (
        0.25
    )
    assert cfg.optim_wrapper.clip_grad.max_norm == 1
    assert cfg.param_scheduler[1].milestones == [8, 11]
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.val_evaluator.type == 'CocoPanopticMetric'
    costs = cfg.model.train_cfg
    assert [c.type for c in costs.rpn.assigner.match_costs] == [
        'DiceCost',
        'MaskCost',
    ]
    assert [c.type for c in costs.rcnn[2].assigner.match_costs] == [
        'FocalLossCost',
        'DiceCost',
        'MaskCost',
    ]


def test_renamed_key_fails_strict(r50_model):
    state = official_state_dict()
    state['rpn_head.localization_fpn.aux_conv.conv.weight'] = state.pop(
        'rpn_head.localization_fpn.aux_convs.0.conv.weight'
    )
    with pytest.raises(RuntimeError, match='aux_convs.0.conv.weight'):
        r50_model.load_state_dict(state, strict=True)
