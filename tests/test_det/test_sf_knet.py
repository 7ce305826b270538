"""SFNet feature extractors (backbone + SFNeck / FPN) for K-Net."""

import os.path as osp

import pytest
import torch
from knet_helpers import REPO, build_det, make_sample
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from sfseg.official_checks.knet.toy_runs import shrink_knet

CFG_DIR = osp.join(REPO, 'configs', 'knet_panoptic')
# config -> (backbone type, neck type, backbone channels at strides 4-32)
EXTRACTORS = {
    'knet-s3_sf-stdc1_8xb2-36e_coco-panoptic.py': (
        'SFSTDCNet',
        'SFNeck',
        [64, 256, 512, 1024],
    ),
    'knet-s3_sf-stdc2_8xb2-36e_coco-panoptic.py': (
        'SFSTDCNet',
        'SFNeck',
        [64, 256, 512, 1024],
    ),
    'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py': (
        'SFResNetD',
        'SFNeck',
        [64, 128, 256, 512],
    ),
    'knet-s3_stdc1-fpn_8xb2-36e_coco-panoptic.py': (
        'SFSTDCNet',
        'FPN',
        [64, 256, 512, 1024],
    ),
    'knet-s3_stdc2-fpn_8xb2-36e_coco-panoptic.py': (
        'SFSTDCNet',
        'FPN',
        [64, 256, 512, 1024],
    ),
}


def test_sf_modules_are_the_mmseg_classes_in_mmdet_scope():
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS

    for name in ('SFResNetD', 'SFSTDCNet', 'SFNeck'):
        cls = DET_MODELS.get(name)
        assert cls is not None, name
        assert cls is SEG_MODELS.get(name)
        assert DET_MODELS.get(name).__module__.startswith('sfseg.models')


@pytest.mark.parametrize('name', sorted(EXTRACTORS))
def test_feature_extractor_gives_four_aligned_levels(name):
    """Strides 4-32, 256 channels each, as K-Net's heads expect."""
    backbone_type, neck_type, in_channels = EXTRACTORS[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, name)).model
    assert cfg.backbone.type == backbone_type
    assert cfg.neck.type == neck_type
    assert list(cfg.neck.in_channels) == in_channels
    backbone = revert_sync_batchnorm(build_det(cfg.backbone)).eval()
    neck = revert_sync_batchnorm(build_det(cfg.neck)).eval()
    assert type(neck).__name__ == neck_type
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 64, 96))
        assert [f.shape[1] for f in feats] == in_channels
        outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [
        (1, 256, 64 // s, 96 // s) for s in (4, 8, 16, 32)
    ]
    # The kernel head reads exactly these channels through GroupNorm(32).
    loc_fpn = cfg.rpn_head.localization_fpn
    assert loc_fpn.in_channels == outs[0].shape[1]
    assert loc_fpn.in_channels % loc_fpn.norm_cfg.num_groups == 0


def tiny_sf_knet(**kwargs):
    cfg = Config.fromfile(
        osp.join(CFG_DIR, 'knet-s3_sf-r18_8xb2-36e_coco-panoptic.py')
    )
    return shrink_knet(cfg.model, **kwargs)


def test_gradients_reach_the_fam_flow_convs():
    torch.manual_seed(0)
    model = build_det(tiny_sf_knet())
    model.init_weights()
    model.train()
    samples = [make_sample(64, 96, seed=0), make_sample(64, 96, seed=1)]
    data = model.data_preprocessor(
        dict(
            inputs=[img for img, _ in samples],
            data_samples=[s for _, s in samples],
        ),
        True,
    )
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    fams = model.neck.fpn_out_align
    assert len(fams) == 3
    for i, fam in enumerate(fams):
        for conv in (fam.flow_make, fam.down_h, fam.down_l):
            grad = conv.weight.grad
            assert grad is not None, i
            assert torch.isfinite(grad).all()
            assert grad.abs().sum() > 0, i
        # The flow conv predicts 2 channels (x, y offsets) from the
        # concatenated reduced coarse + fine features.
        assert fam.flow_make.weight.shape[:2] == (2, 64)
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not missing, missing


def test_neck_channels_must_suit_groupnorm_32():
    with pytest.raises(ValueError, match='multiple of 32'):
        tiny_sf_knet(channels=48)
    cfg = tiny_sf_knet(channels=64)
    cfg.neck.channels = 48
    for key in ('in_channels', 'feat_channels', 'out_channels'):
        cfg.rpn_head.localization_fpn[key] = 48
    cfg.rpn_head.localization_fpn.positional_encoding.num_feats = 24
    # GroupNorm(32) of the localisation FPN rejects 48 channels at build.
    with pytest.raises(ValueError, match='divisible'):
        build_det(cfg)


@pytest.mark.parametrize('memory', ['nchw', 'channels_last'])
def test_sf_knet_runs_under_bf16_autocast(memory):
    """The SFNet feature extractor of K-Net in bf16: the neck in both
    layouts (gather warp / grid_sample), a training loss with gradients
    and panoptic predictions (emulated bf16 on CPUs without it)."""
    torch.manual_seed(0)
    model = build_det(tiny_sf_knet())
    model.init_weights()
    fmt = torch.channels_last if memory == 'channels_last' else None
    if fmt is not None:
        model.to(memory_format=fmt)
    samples = [make_sample(64, 96, seed=0), make_sample(64, 96, seed=1)]
    raw = dict(
        inputs=[img for img, _ in samples],
        data_samples=[s for _, s in samples],
    )
    model.train()
    data = model.data_preprocessor(raw, True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = model.neck(model.backbone(data['inputs']))
        losses = model.loss(data['inputs'], data['data_samples'])
    assert all(f.dtype == torch.bfloat16 for f in feats)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    flow_grad = model.neck.fpn_out_align[0].flow_make.weight.grad
    assert flow_grad is not None and torch.isfinite(flow_grad).all()
    model.eval()
    data = model.data_preprocessor(raw, False)
    inputs = data['inputs']
    if fmt is not None:
        inputs = inputs.contiguous(memory_format=fmt)
    with torch.no_grad():
        want = model.neck(model.backbone(inputs))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = model.neck(model.backbone(inputs))
            out = model.predict(inputs, data['data_samples'])
    for g, w in zip(got, want):
        scale = float(w.abs().max())
        assert float((g.float() - w).abs().max()) < 0.05 * scale
    assert [tuple(s.pred_panoptic_seg.sem_seg.shape) for s in out] == [
        (1, 64, 96)
    ] * 2
