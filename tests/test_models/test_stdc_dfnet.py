import pytest
import torch
from mmseg.models.backbones import STDCNet

from sfseg.models.backbones import SFDFNet, SFSTDCNet


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    'stdc_type,params', [('STDCNet1', 5318304), ('STDCNet2', 9348768)]
)
def test_stdc_returns_stride4_and_matches_mmseg(stdc_type, params):
    # Official STDCNet813 / 1446 "features" (brief 4.1, without the unused
    # ImageNet classifier).
    ours = SFSTDCNet(stdc_type).eval()
    assert n_params(ours) == params
    stock = STDCNet(
        stdc_type=stdc_type,
        in_channels=3,
        channels=(32, 64, 256, 512, 1024),
        bottleneck_type='cat',
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
    ).eval()
    stock.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        feats, ref = ours(x), stock(x)
    assert [tuple(f.shape) for f in feats] == [
        (1, 64, 16, 32),
        (1, 256, 8, 16),
        (1, 512, 4, 8),
        (1, 1024, 2, 4),
    ]
    for a, b in zip(feats[1:], ref):  # mmseg returns strides 8, 16, 32
        assert torch.equal(a, b)


def test_stdc_out_indices_checked():
    assert len(SFSTDCNet(out_indices=(0, 4))(torch.randn(1, 3, 64, 64))) == 2
    with pytest.raises(ValueError, match='out_indices'):
        SFSTDCNet(out_indices=(1, 5))


@pytest.mark.parametrize(
    'arch,params,shapes',
    [
        ('v1', 8020128, [(128, 4, 8), (256, 2, 4), (512, 2, 4)]),
        ('v2', 17474208, [(128, 8, 16), (256, 4, 8), (512, 2, 4)]),
    ],
)
def test_dfnet_layout(arch, params, shapes):
    model = SFDFNet(arch).eval()
    assert n_params(model) == params
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 128))
    assert [tuple(o.shape[1:]) for o in outs] == shapes
    keys = model.state_dict()
    # official key layout: stem stage1.{0,1,3,4}, stride-2 block shortcut
    assert keys['stage1.3.weight'].shape == (64, 32, 3, 3)
    first = 'stage2' if arch == 'v1' else 'stage2_1'
    assert keys[f'{first}.0.downsample.0.weight'].shape == (64, 64, 1, 1)
    assert f'{first}.1.downsample.0.weight' not in keys


def test_dfnet_rejects_unknown_arch():
    with pytest.raises(KeyError, match="arch must be one of \\['v1', 'v2'\\]"):
        SFDFNet('v3')
