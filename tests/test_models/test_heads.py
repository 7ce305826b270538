import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

R18_CHANNELS = [64, 128, 256, 512]


def r18_feats(n=2, h=64, w=128):
    return [
        torch.randn(n, c, h // s, w // s)
        for c, s in zip(R18_CHANNELS, (4, 8, 16, 32))
    ]


def data_samples(n=2, h=64, w=128, num_classes=19):
    samples = []
    for _ in range(n):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w))
        )
        sample.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


def sf_head(**kwargs):
    cfg = dict(
        type='SFHead',
        in_channels=R18_CHANNELS,
        in_index=[0, 1, 2, 3],
        channels=32,
        num_classes=19,
    )
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_sf_head_forward_shape_and_defaults():
    head = sf_head()
    assert head.dropout is None  # official: no classifier dropout
    assert head.align_corners
    assert head.conv_last.conv.in_channels == 4 * 32
    assert head(r18_feats()).shape == (2, 19, 16, 32)


def test_sf_head_fam_levels_and_kernel():
    head = sf_head(fam_levels=(False, True, False), fam_kernel_size=5)
    aligns = [type(m).__name__ for m in head.fpn.fpn_out_align]
    assert aligns == ['BilinearAlign', 'FAM', 'BilinearAlign']
    assert head.fpn.fpn_out_align[1].flow_make.kernel_size == (5, 5)
    assert head(r18_feats()).shape == (2, 19, 16, 32)
    with pytest.raises(ValueError, match='fam_levels has 2 entries'):
        sf_head(fam_levels=(True, True))


def test_fpn_ppm_baseline_has_no_flow_parameters():
    full = sf_head()
    base = sf_head(fam_levels=(False, False, False))
    n = sum(p.numel() for p in full.parameters())
    m = sum(p.numel() for p in base.parameters())
    fam = 2 * 32 * 16 + 2 * 32 * 9  # down_h, down_l, 3x3 conv 32 -> 2
    assert n - m == 3 * fam


def test_context_conv_option():
    head = sf_head(context='conv')
    assert type(head.fpn.context).__name__ == 'ConvModule'
    assert head(r18_feats()).shape == (2, 19, 16, 32)
    with pytest.raises(ValueError, match="context must be 'ppm' or 'conv'"):
        sf_head(context='aspp')


def test_dsn_is_training_only():
    head = sf_head(
        dsn_loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)
    )
    assert len(head.dsn) == 3
    # dsn conv keeps the official bias
    assert head.dsn[0].conv.conv.bias is not None
    losses = head.loss(r18_feats(), data_samples(), train_cfg=dict())
    assert set(losses) == {
        'loss_ce',
        'acc_seg',
        'dsn0.loss_ce',
        'dsn0.acc_seg',
        'dsn1.loss_ce',
        'dsn1.acc_seg',
        'dsn2.loss_ce',
        'dsn2.acc_seg',
    }
    # The dsn loss weight is applied to the dsn terms only.
    unit = sf_head(dsn_loss_decode=dict(type='CrossEntropyLoss'))
    unit.load_state_dict(head.state_dict())
    feats, samples = r18_feats(), data_samples()
    torch.manual_seed(0)  # same dropout masks in both runs
    weighted = head.loss(feats, samples, train_cfg=dict())
    torch.manual_seed(0)
    plain = unit.loss(feats, samples, train_cfg=dict())
    for level in range(3):
        key = f'dsn{level}.loss_ce'
        assert torch.allclose(weighted[key], 0.4 * plain[key])
    assert torch.allclose(weighted['loss_ce'], plain['loss_ce'])

    def boom(*args, **kwargs):
        raise AssertionError('dsn ran at inference')

    for dsn in head.dsn:
        dsn.forward = boom
    head.eval()
    with torch.no_grad():
        out = head.predict(
            r18_feats(), [s.metainfo for s in data_samples()], test_cfg=dict()
        )
    assert out.shape == (2, 19, 64, 128)


def test_dsn_shares_the_ohem_sampler():
    head = sf_head(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100),
        dsn_loss_decode=dict(type='CrossEntropyLoss'),
    )
    assert type(head.dsn[1].sampler).__name__ == 'OHEMPixelSampler'
    assert head.dsn[1].sampler.min_kept == 100


def test_sf_lite_head():
    head = MODELS.build(
        dict(
            type='SFLiteHead',
            in_channels=[64, 256, 512],
            in_index=[0, 2, 3],
            channels=32,
            num_classes=19,
        )
    )
    assert type(head.fpn.flow_align_module).__name__ == 'GDFAM'
    assert len(head.fpn.fpn_in) == 2  # no unused stride-32 lateral
    assert head.conv_last.conv.in_channels == 2 * 32
    assert head.dropout is None
    assert head(r18_feats()).shape == (2, 19, 16, 32)


def test_head_names_channel_mismatch_at_forward():
    head = sf_head(in_channels=[64, 128, 128, 512])
    with pytest.raises(ValueError) as err:
        head(r18_feats())
    msg = str(err.value)
    assert 'SFHead' in msg and 'in_channels[2]=128' in msg
    assert 'in_index 2 has 256 channels' in msg


def test_necks_return_aligned_levels():
    neck = MODELS.build(
        dict(type='SFNeck', in_channels=R18_CHANNELS, channels=32)
    )
    outs = neck(r18_feats())
    assert [tuple(o.shape) for o in outs] == [
        (2, 32, 16, 32),
        (2, 32, 8, 16),
        (2, 32, 4, 8),
        (2, 32, 2, 4),
    ]
    lite = MODELS.build(
        dict(type='SFLiteNeck', in_channels=[64, 256, 512], channels=32)
    )
    feats = r18_feats()
    fused, p16 = lite([feats[0], feats[2], feats[3]])
    assert fused.shape == (2, 32, 16, 32) and p16.shape == (2, 32, 4, 8)
