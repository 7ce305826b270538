"""Forward shapes and config checks of each K-Net module."""

import pytest
import torch
from knet_helpers import (
    CHANNELS,
    NUM_PROPOSALS,
    NUM_STUFF,
    NUM_THINGS,
    R50_BASE,
    tiny_model_cfg,
)
from mmdet.registry import MODELS
from mmengine.config import Config

B, C = 2, CHANNELS
NC = NUM_THINGS + NUM_STUFF
K = NUM_PROPOSALS + NUM_STUFF


def pyramid(size=64, channels=C):
    return [
        torch.randn(B, channels, size // 2**i // 4, size // 2**i // 4)
        for i in range(4)
    ]


def test_kernel_updator_shapes_and_gating():
    upd = MODELS.build(
        dict(type='KernelUpdator', in_channels=C, input_feat_shape=3)
    )
    feats = torch.randn(B, K, C)
    kernels = torch.randn(B, K, 1, C)
    out = upd(feats, kernels)
    assert out.shape == (B * K, 1, C)
    # ReLU output after LN: non-negative, and a 3x3 kernel keeps 9 taps.
    assert (out >= 0).all()
    assert upd(feats, torch.randn(B, K, 9, C)).shape == (B * K, 9, C)
    with pytest.raises(ValueError, match='feat_channels == in_channels'):
        MODELS.build(
            dict(type='KernelUpdator', in_channels=C, feat_channels=16)
        )


def test_kernel_updator_matches_mmseg_implementation():
    """mmseg's semantic K-Net has the same updator: same names, same math."""
    from mmseg.models.decode_heads.knet_head import KernelUpdator as Ref

    torch.manual_seed(0)
    ours = MODELS.build(dict(type='KernelUpdator', in_channels=C))
    ref = Ref(in_channels=C, feat_channels=C, out_channels=C)
    ref.load_state_dict(ours.state_dict(), strict=True)
    feats, kernels = torch.randn(B, K, C), torch.randn(B, K, 1, C)
    assert torch.allclose(ours(feats, kernels), ref(feats, kernels))


def test_semantic_fpn_wrapper_layout_and_shapes():
    cfg = Config.fromfile(R50_BASE).model.rpn_head.localization_fpn
    cfg.update(
        in_channels=C,
        feat_channels=C,
        out_channels=C,
        norm_cfg=dict(type='GN', num_groups=8),
    )
    cfg.positional_encoding.num_feats = C // 2
    fpn = MODELS.build(cfg)
    names = [list(dict(m.named_children())) for m in fpn.convs_all_levels]
    assert names == [
        ['conv0'],
        ['conv0'],
        ['conv0', 'upsample0', 'conv1'],
        ['conv0', 'upsample0', 'conv1', 'upsample1', 'conv2'],
    ]
    assert fpn.convs_all_levels[0].conv0.conv.stride == (2, 2)
    loc, sem = fpn(pyramid())
    assert loc.shape == sem.shape == (B, C, 8, 8)
    # normal(0, 0.01) init of every conv, zero bias.
    fpn.init_weights()
    w = fpn.conv_pred.conv.weight
    assert w.std().item() == pytest.approx(0.01, rel=0.2)


def test_semantic_fpn_wrapper_rejects_bad_levels():
    base = dict(
        type='SemanticFPNWrapper',
        in_channels=C,
        feat_channels=C,
        out_channels=C,
        num_aux_convs=1,
    )
    with pytest.raises(ValueError, match='upsample_times'):
        MODELS.build(dict(base, upsample_times=5))
    with pytest.raises(ValueError, match='start_level=0'):
        MODELS.build(dict(base, start_level=1))
    fpn = MODELS.build(base)
    with pytest.raises(ValueError, match='input levels'):
        fpn(pyramid()[:3])


def _rpn_head():
    cfg = tiny_model_cfg().rpn_head
    return MODELS.build(cfg)


def test_conv_kernel_head_shapes_and_stuff_kernels():
    head = _rpn_head()
    head.eval()
    x = pyramid()
    kernels, feats, masks, seg = head(x)
    assert kernels.shape == (B, NUM_PROPOSALS, C, 1, 1)
    assert feats.shape == (B, C, 8, 8)
    assert masks.shape == (B, NUM_PROPOSALS, 8, 8)
    assert seg.shape == (B, NC, 8, 8)
    kernels, feats, masks = head.predict(x)
    assert kernels.shape == (B, K, C, 1, 1)
    assert masks.shape == (B, K, 8, 8)
    # Stuff kernels are the stuff rows of conv_seg, stuff masks its logits.
    assert torch.equal(
        kernels[0, NUM_PROPOSALS:], head.conv_seg.weight[NUM_THINGS:]
    )
    assert torch.equal(masks[:, NUM_PROPOSALS:], seg[:, NUM_THINGS:])


def test_conv_kernel_head_init():
    head = _rpn_head()
    head.init_weights()
    assert head.init_kernels.weight.std().item() == pytest.approx(1, rel=0.2)
    prior = -torch.log(torch.tensor((1 - 0.01) / 0.01))
    assert torch.allclose(head.conv_seg.bias, prior.expand(NC))


def test_conv_kernel_head_config_errors():
    cfg = tiny_model_cfg().rpn_head
    with pytest.raises(ValueError, match='conv_kernel_size=1'):
        MODELS.build(dict(cfg, conv_kernel_size=3))
    with pytest.raises(ValueError, match='use_sigmoid=True'):
        MODELS.build(
            dict(
                cfg, loss_seg=dict(type='CrossEntropyLoss', use_sigmoid=False)
            )
        )
    assign = dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[dict(type='FocalLossCost', weight=2.0)],
        )
    )
    with pytest.raises(ValueError, match='remove FocalLossCost'):
        MODELS.build(dict(cfg, train_cfg=assign))


def _update_head(**kw):
    cfg = tiny_model_cfg().roi_head.mask_head[0]
    cfg.update(kw)
    return MODELS.build(cfg)


def test_kernel_update_head_shapes():
    head = _update_head()
    x = torch.randn(B, C, 8, 8)
    kernels = torch.randn(B, K, C, 1, 1)
    masks = torch.randn(B, K, 16, 16)  # previous masks at another size
    cls, new_masks, new_kernels = head(x, kernels, masks)
    assert cls.shape == (B, K, NC)
    assert new_masks.shape == (B, K, 8, 8)
    assert new_kernels.shape == (B, K, C, 1, 1)


def test_kernel_update_head_masks_are_dynamic_convolutions():
    """New masks = features (after feat_transform) x fc_mask kernels."""
    head = _update_head(conv_kernel_size=3)
    head.eval()
    x = torch.randn(B, C, 8, 8)
    kernels = torch.randn(B, K, C, 3, 3)
    cls, masks, new_kernels = head(x, kernels, torch.randn(B, K, 8, 8))
    assert new_kernels.shape == (B, K, C, 3, 3)
    feats = head.feat_transform(x)
    obj = new_kernels.flatten(3).permute(0, 1, 3, 2)  # (B, K, 9, C)
    for layer in head.mask_fcs:
        obj = layer(obj)
    dyn = head.fc_mask(obj).permute(0, 1, 3, 2).reshape(B, K, C, 3, 3)
    for i in range(B):
        ref = torch.nn.functional.conv2d(feats[i : i + 1], dyn[i], padding=1)
        assert torch.allclose(masks[i], ref[0], atol=1e-4)


def test_kernel_update_head_config_errors():
    with pytest.raises(ValueError, match='num_classes=7'):
        _update_head(num_classes=7)
    with pytest.raises(ValueError, match='out_channels'):
        _update_head(out_channels=16)


def test_kernel_update_head_init():
    head = _update_head()
    head.init_weights()
    prior = -torch.log(torch.tensor((1 - 0.01) / 0.01))
    assert torch.allclose(head.fc_cls.bias, prior.expand(NC))


def test_kernel_iter_head_predict_and_forward_shapes():
    cfg = tiny_model_cfg().roi_head
    head = MODELS.build(cfg)
    x = torch.randn(B, C, 8, 8)
    kernels = torch.randn(B, K, C, 1, 1)
    masks = torch.randn(B, K, 8, 8)
    cls, scaled = head.predict(x, kernels, masks)
    assert cls.shape == (B, K, NC)
    assert scaled.shape == (B, K, 16, 16)
    outs = head(x, kernels, masks)
    assert len(outs) == 3
    assert all(c.shape == (B, K, NC) for c, _ in outs)
    assert all(m.shape == (B, K, 16, 16) for _, m in outs)


def test_kernel_iter_head_config_errors():
    cfg = tiny_model_cfg().roi_head
    with pytest.raises(ValueError, match='stage_loss_weights'):
        MODELS.build(dict(cfg, stage_loss_weights=[1, 1]))
    with pytest.raises(ValueError, match='3 stages'):
        MODELS.build(dict(cfg, mask_head=cfg.mask_head[:2]))
    heads = [dict(h, num_stuff_classes=5) for h in cfg.mask_head]
    with pytest.raises(ValueError, match=r'mask_head\[0\]'):
        MODELS.build(dict(cfg, mask_head=heads))
    full = tiny_model_cfg()
    rcnn = [full.train_cfg.rcnn[1]] * 3  # focal cost at stage 0
    with pytest.raises(ValueError, match='roi_head stage 0'):
        MODELS.build(dict(cfg, train_cfg=rcnn))
    with pytest.raises(ValueError, match='2 entries for 3 stages'):
        MODELS.build(dict(cfg, train_cfg=full.train_cfg.rcnn[:2]))


def _spy_assign(head):
    calls = []
    for stage, assigner in enumerate(head.assigners):
        original = assigner.assign

        def assign(pred_instances, gt_instances, _s=stage, _f=original):
            calls.append((_s, 'scores' in pred_instances))
            return _f(pred_instances=pred_instances, gt_instances=gt_instances)

        assigner.assign = assign
    return calls


@pytest.mark.parametrize('assign_stages', [5, 1])
def test_kernel_iter_head_matches_with_previous_stage(assign_stages):
    from mmengine.structures import InstanceData

    full = tiny_model_cfg()
    cfg = dict(
        full.roi_head,
        train_cfg=full.train_cfg.rcnn,
        assign_stages=assign_stages,
    )
    head = MODELS.build(cfg)
    calls = _spy_assign(head)
    masks = torch.zeros(1, 16, 16)
    masks[0, :8] = 1
    things = [InstanceData(labels=torch.tensor([1]), masks=masks)] * B
    stuff = [
        InstanceData(labels=torch.tensor([NUM_THINGS]), masks=1 - masks)
    ] * B
    losses = head.loss(
        torch.randn(B, C, 8, 8),
        torch.randn(B, K, C, 1, 1),
        torch.randn(B, K, 8, 8),
        things,
        stuff,
    )
    assert {k.split('_')[0] for k in losses} == {'s0', 's1', 's2'}
    if assign_stages == 5:
        # Stage 0 matches on the kernel head's masks (no class scores yet),
        # stages 1 and 2 on the previous stage's masks and scores.
        assert calls == [(0, False)] * B + [(1, True)] * B + [(2, True)] * B
    else:
        assert calls == [(0, False)] * B


def test_masked_feature_sum_stays_float32_under_autocast():
    from sfseg.det.knet.utils import masked_feature_sum

    masks = (torch.rand(1, 3, 64, 64) > 0.2).float()
    feats = torch.full((1, 4, 64, 64), 3.0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = masked_feature_sum(masks, feats)
    assert out.dtype == torch.float32
    # bfloat16 would round these pixel-count multiples of 3.
    assert torch.equal(
        out, 3.0 * masks.sum((2, 3))[..., None].expand(-1, -1, 4)
    )
