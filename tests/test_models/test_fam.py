import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sfseg.models.layers import FAM, GDFAM, PPM


def up(x, size):
    return F.interpolate(x, size, mode='bilinear', align_corners=True)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_fam_shapes_and_official_parameter_count():
    fam = FAM(128)
    # Official AlignedModule(128, 64): two 1x1 reducers + a 3x3 flow conv.
    assert n_params(fam) == 18688
    assert fam.flow_make.weight.shape == (2, 128, 3, 3)
    assert fam.flow_make.bias is None
    low, high = torch.randn(2, 128, 16, 32), torch.randn(2, 128, 8, 16)
    assert fam(low, high).shape == (2, 128, 16, 32)


@pytest.mark.parametrize('kernel_size', [1, 3, 5])
def test_fam_kernel_size(kernel_size):
    fam = FAM(16, kernel_size=kernel_size)
    assert fam.flow_make.weight.shape == (2, 16, kernel_size, kernel_size)
    out = fam(torch.randn(1, 16, 12, 20), torch.randn(1, 16, 6, 10))
    assert out.shape == (1, 16, 12, 20)


@pytest.mark.parametrize(
    'low_size,high_size', [((16, 32), (8, 16)), ((24, 40), (6, 10))]
)
def test_fam_zero_flow_is_bilinear_upsampling(low_size, high_size):
    torch.manual_seed(0)
    fam = FAM(32)
    nn.init.zeros_(fam.flow_make.weight)
    low, high = torch.randn(2, 32, *low_size), torch.randn(2, 32, *high_size)
    assert (fam(low, high) - up(high, low_size)).abs().max() < 1e-5


def test_fam_uses_high_then_low_concat_order():
    torch.manual_seed(0)
    fam = FAM(8, kernel_size=1)
    nn.init.zeros_(fam.flow_make.weight)
    # Only the first 4 concat channels (the reduced high feature) drive
    # the flow: changing `low` must then leave the output unchanged.
    fam.flow_make.weight.data[:, :4] = torch.randn(2, 4, 1, 1)
    high = torch.randn(1, 8, 4, 4)
    a = fam(torch.randn(1, 8, 8, 8), high)
    b = fam(torch.randn(1, 8, 8, 8), high)
    assert torch.allclose(a, b, atol=1e-6)
    assert (a - up(high, (8, 8))).abs().max() > 1e-3


def test_gdfam_shapes_and_official_parameter_count():
    gdfam = GDFAM(128)
    # Official AlignedModulev2PoolingAtten(128, 64): 3x3 gate conv 4 -> 1.
    assert n_params(gdfam) == 21028
    assert gdfam.flow_make.weight.shape == (4, 128, 3, 3)
    assert gdfam.flow_gate[0].weight.shape == (1, 4, 3, 3)
    out = gdfam(torch.randn(2, 128, 16, 32), torch.randn(2, 128, 4, 8))
    assert out.shape == (2, 128, 16, 32)


@pytest.mark.parametrize(
    'low_size,high_size', [((16, 32), (4, 8)), ((20, 36), (10, 18))]
)
def test_gdfam_zero_flow_is_gated_sum(low_size, high_size):
    torch.manual_seed(0)
    gdfam = GDFAM(16)
    nn.init.zeros_(gdfam.flow_make.weight)
    low, high = torch.randn(2, 16, *low_size), torch.randn(2, 16, *high_size)
    high_reduced = up(gdfam.down_h(high), low_size)
    stats = torch.cat(
        [
            high_reduced.mean(1, keepdim=True),
            low.mean(1, keepdim=True),
            high_reduced.max(1, keepdim=True)[0],
            low.max(1, keepdim=True)[0],
        ],
        1,
    )
    gate = torch.sigmoid(F.conv2d(stats, gdfam.flow_gate[0].weight, padding=1))
    expected = gate * up(high, low_size) + (1 - gate) * low
    assert (gdfam(low, high) - expected).abs().max() < 1e-5
    # The gate is not trivially 0 or 1, so both branches matter.
    assert 0.01 < gate.mean() < 0.99


def test_gradients_reach_flow_and_gate_convs():
    torch.manual_seed(0)
    fam, gdfam = FAM(8), GDFAM(8)
    low, high = torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)
    (
        fam(low, high).square().sum() + gdfam(low, high).square().sum()
    ).backward()
    for conv in (
        fam.flow_make,
        fam.down_h,
        fam.down_l,
        gdfam.flow_make,
        gdfam.flow_gate[0],
        gdfam.down_h,
        gdfam.down_l,
    ):
        assert conv.weight.grad is not None
        assert conv.weight.grad.abs().sum() > 0


def test_ppm_official_variant():
    torch.manual_seed(0)
    ppm = PPM(16, 8, pool_scales=(1, 2, 3, 6)).eval()
    # Branch: pool -> 1x1 conv -> norm, no activation.
    branch = ppm.stages[0]
    assert isinstance(branch[0], nn.AdaptiveAvgPool2d)
    assert not branch[1].with_activation
    # Bottleneck: 1x1 conv over [branches..., x] -> norm -> ReLU -> dropout.
    conv = ppm.bottleneck[0].conv
    assert conv.kernel_size == (1, 1) and conv.in_channels == 16 + 4 * 8
    assert isinstance(ppm.bottleneck[1], nn.Dropout2d)
    assert ppm.bottleneck[1].p == 0.1
    x = torch.randn(2, 16, 12, 12)
    assert ppm(x).shape == (2, 8, 12, 12)
    # The input is concatenated LAST: route its 8 channels straight through.
    ppm16 = PPM(8, 8).eval()
    w = torch.zeros_like(ppm16.bottleneck[0].conv.weight)
    w[:, 32:, 0, 0] = torch.eye(8)
    ppm16.bottleneck[0].conv.weight.data = w
    x = torch.randn(1, 8, 6, 6)
    bn_scale = 1 / (1 + 1e-5) ** 0.5
    assert torch.allclose(ppm16(x), x.relu() * bn_scale, atol=1e-5)


@pytest.mark.parametrize('h,w', [(32, 64), (5, 7), (13, 6), (1, 1)])
def test_export_pooling_equals_adaptive_avg_pool(h, w):
    from sfseg.deploy.export_pooling import adaptive_avg_pool2d_export

    x = torch.randn(2, 3, h, w)
    for size in (1, 2, 3, 6):
        ref = F.adaptive_avg_pool2d(x, size)
        assert (adaptive_avg_pool2d_export(x, size) - ref).abs().max() < 1e-6
