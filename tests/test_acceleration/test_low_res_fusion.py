"""LowResFusion equals conv(cat(upsampled levels)) and runs only where it
is the exact, faster replacement."""

import pytest
import torch
from mmcv.cnn import ConvModule

from sfseg.acceleration import (
    LowResFusion,
    NNPACKConv2d,
    override,
    use_low_res_fusion,
)
from sfseg.acceleration import low_res_fusion as lrf
from sfseg.models.layers import upsample_cat

CL = torch.channels_last


def conv_module(in_channels, out_channels=6, kernel=3, norm=True, seed=0):
    torch.manual_seed(seed)
    module = ConvModule(
        in_channels,
        out_channels,
        kernel,
        padding=kernel // 2,
        norm_cfg=dict(type='BN') if norm else None,
        act_cfg=dict(type='ReLU'),
    )
    if norm:
        bn = module.bn
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 2)
        bn.bias.data.uniform_(-1, 1)
    return module.eval()


def levels(sizes, channels, n=1, layout=CL, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, c, *size, generator=gen).contiguous(
            memory_format=layout
        )
        for size, c in zip(sizes, channels)
    ]


@pytest.mark.parametrize(
    'sizes,channels,kernel,n,layout',
    [
        # SFNet: levels at 1/2, 1/4, 1/8 of the first
        ([(16, 32), (8, 16), (4, 8), (2, 4)], [4, 4, 4, 4], 3, 1, CL),
        # ratios that are not whole numbers, a one-row level, a batch
        ([(13, 21), (5, 6), (1, 3)], [3, 5, 2], 3, 2, CL),
        # NCHW tensors (the layout tuner's other layout), 1x1 and 5x5 convs
        ([(12, 20), (6, 10)], [4, 4], 3, 1, torch.contiguous_format),
        ([(12, 20), (6, 10), (3, 5)], [4, 4, 4], 1, 1, CL),
        ([(12, 20), (6, 10), (3, 5)], [4, 4, 4], 5, 2, CL),
    ],
)
def test_equals_conv_of_upsampled_concatenation(
    sizes, channels, kernel, n, layout
):
    module = conv_module(sum(channels), kernel=kernel)
    fusion = LowResFusion(module, channels)
    feats = levels(sizes, channels, n, layout)
    with torch.no_grad():
        want = module(upsample_cat(feats))
        assert fusion.applies(feats)
        got = fusion(feats)
    assert got.shape == want.shape == (n, 6, *sizes[0])
    assert got.is_contiguous(memory_format=layout)
    assert torch.allclose(got, want, atol=1e-5, rtol=0)
    assert (want > 0).float().mean() > 0.2  # ReLU kept real values


def test_near_levels_are_upsampled_and_convolved_at_the_first_size():
    channels = [4, 4, 4]
    module = conv_module(12)
    fusion = LowResFusion(module, channels)
    # 12x20 -> 8x14 is less than 4x fewer pixels: upsampled; 3x5 is not
    feats = levels([(12, 20), (8, 14), (3, 5)], channels)
    assert fusion._far_from(feats) == 2
    calls = []
    fusion.fine[1].register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        got = fusion(feats)
        want = module(upsample_cat(feats))
    assert calls == [1]
    assert torch.allclose(got, want, atol=1e-5, rtol=0)
    # with no far level the plain path runs
    assert not fusion.applies(feats[:2])


def test_weights_are_retaken_when_the_conv_changes():
    channels = [4, 4]
    module = conv_module(8, norm=False)
    fusion = LowResFusion(module, channels)
    feats = levels([(8, 16), (4, 8)], channels)
    with torch.no_grad():
        module.conv.weight.mul_(-2)
        module.conv.bias.add_(1)
        assert torch.allclose(
            fusion(feats), module(upsample_cat(feats)), atol=1e-5, rtol=0
        )


def test_plain_path_for_training_tracing_autocast_and_other_dtypes():
    channels = [4, 4]
    module = conv_module(8)
    fusion = LowResFusion(module, channels)
    feats = levels([(8, 16), (4, 8)], channels)
    assert not fusion.applies(feats)  # autograd is on
    with torch.no_grad():
        assert fusion.applies(feats)
        assert not fusion.applies([f.double() for f in feats])
        assert not fusion.applies(feats[:1] + [feats[1][:, :3]])
        assert not fusion.applies(feats[:1] + [feats[1].expand(2, -1, -1, -1)])
        # a level larger than the first
        assert not fusion.applies(levels([(4, 8), (8, 16)], channels))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert not fusion.applies(feats)
        with override(low_res_fusion=False):
            assert not fusion.applies(feats)
        assert fusion.applies(feats)  # restored on leaving the block

    class Fuse(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module, self.fusion = module, fusion

        def forward(self, a, b):
            return self.fusion.fuse([a, b])

    with torch.no_grad():
        traced = torch.jit.trace(Fuse(), tuple(feats))
    graph = str(traced.inlined_graph)
    assert 'upsample_bilinear2d' in graph and 'embedding_bag' not in graph


def test_fuse_falls_back_and_sums_the_same():
    channels = [4, 4]
    module = conv_module(8)
    fusion = LowResFusion(module, channels)
    feats = levels([(8, 16), (4, 8)], channels)
    want = module(upsample_cat(feats))  # grad mode: plain path
    got = fusion.fuse(feats)
    assert got.requires_grad
    assert torch.equal(got, want)


def test_unsupported_convs_are_refused():
    module = conv_module(8)
    assert not LowResFusion.supports(module, [4, 3])  # channels differ
    assert not LowResFusion.supports(module, [8])  # a single level
    strided = ConvModule(8, 4, 3, stride=2, padding=1)
    assert not LowResFusion.supports(strided, [4, 4])
    with pytest.raises(ValueError, match='cannot be split'):
        LowResFusion(strided, [4, 4])


def test_use_low_res_fusion_on_heads_and_nnpack_for_fine_convs(
    monkeypatch,
):
    from sfseg.acceleration import use_nnpack_conv
    from sfseg.models.decode_heads import SFHead

    head = SFHead(
        in_channels=[8, 8, 8, 8],
        in_index=[0, 1, 2, 3],
        channels=8,
        num_classes=3,
        norm_cfg=dict(type='BN'),
    ).eval()
    feats = levels(
        [(32, 64), (16, 32), (8, 16), (4, 8)], [8] * 4, layout=CL, seed=3
    )
    with torch.no_grad():
        want = head(feats)
        assert use_low_res_fusion(head) == 1
        assert use_low_res_fusion(head) == 0  # kept
        ran = []
        monkeypatch.setattr(
            lrf.LowResFusion,
            '_share',
            lambda self, *a, _f=lrf.LowResFusion._share: (
                ran.append(1) or _f(self, *a)
            ),
        )
        got = head(feats)
    assert len(ran) == 3  # the 1/2, 1/4 and 1/8 levels, one image
    assert torch.allclose(got, want, atol=1e-5, rtol=0)
    assert type(head).fuse is SFHead.fuse  # the paper's stays the class's
    assert head.fuse == head.low_res_fusion.fuse  # bound on the instance
    if use_nnpack_conv(head):
        assert isinstance(head.low_res_fusion.fine[0], NNPACKConv2d)
