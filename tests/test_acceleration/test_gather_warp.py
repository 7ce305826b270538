"""The channels-last gather warp equals grid_sample; the prepared
model's warp uses it only where it is the exact, faster replacement."""

import pytest
import torch
import torch.nn.functional as F

from sfseg.acceleration import (
    FastFlowWarp,
    can_gather_warp,
    gather_warp,
    is_tracing,
    use_fast_flow_warp,
)
from sfseg.models.layers import GDFAM, flow_warp

CL = torch.channels_last


def reference(x, grid):
    return F.grid_sample(
        x, grid, mode='bilinear', padding_mode='zeros', align_corners=True
    )


@pytest.mark.parametrize(
    'n,c,in_size,out_size,spread',
    [
        (1, 8, (16, 32), (16, 32), 1.0),  # inside the image
        (2, 5, (7, 9), (11, 13), 1.4),  # corners fall outside: zeros
        (2, 3, (1, 6), (4, 4), 1.2),  # one-row input
        (1, 16, (32, 64), (64, 128), 1.05),
    ],
)
def test_equals_grid_sample(n, c, in_size, out_size, spread):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, *in_size, generator=gen)
    grid = (torch.rand(n, *out_size, 2, generator=gen) * 2 - 1) * spread
    want = reference(x, grid)
    got = gather_warp(x.contiguous(memory_format=CL), grid)
    assert got.shape == want.shape
    assert got.is_contiguous(memory_format=CL)
    assert torch.allclose(got, want, atol=1e-6, rtol=0)
    # a shared 1 x H x W x 2 grid is broadcast over the batch
    got = gather_warp(x.contiguous(memory_format=CL), grid[:1])
    assert torch.allclose(
        got, reference(x, grid[:1].expand_as(grid)), atol=1e-6
    )


def test_fast_warp_takes_it_only_for_channels_last_inference():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 6, 8, 16, generator=gen)
    flow = torch.randn(1, 2, 16, 32, generator=gen) * 3
    x_cl = x.contiguous(memory_format=CL)
    warp = FastFlowWarp()
    with torch.no_grad():
        want = warp(x, flow)
        got = warp(x_cl, flow)
        assert flow_warp(x_cl, flow).is_contiguous()  # the paper's: never
    assert not want.is_contiguous(memory_format=CL)  # grid_sample, NCHW
    assert got.is_contiguous(memory_format=CL)  # gathered, NHWC
    assert torch.allclose(got, want, atol=1e-6, rtol=0)
    assert can_gather_warp(x_cl.detach()) is False  # grad mode is on here
    x_cl.requires_grad_(True)
    out = warp(x_cl, flow)  # training keeps grid_sample's backward
    assert (
        out.grad_fn is not None and 'GridSampler' in type(out.grad_fn).__name__
    )
    with torch.no_grad():
        assert not can_gather_warp(x)  # NCHW
        assert not is_tracing()


def test_gdfam_gate_blend_is_the_official_formula():
    torch.manual_seed(0)
    gdfam = GDFAM(8, 4).eval()
    low = torch.randn(2, 8, 16, 32)
    high = torch.randn(2, 8, 4, 8)
    with torch.no_grad():
        got = gdfam(low, high)
        high_reduced, flow = gdfam.predict_flow(low, high)
        stats = torch.cat(
            [
                high_reduced.mean(1, keepdim=True),
                low.mean(1, keepdim=True),
                high_reduced.amax(1, keepdim=True),
                low.amax(1, keepdim=True),
            ],
            1,
        )
        gate = gdfam.flow_gate(stats)
        want = flow_warp(high, flow[:, :2]) * gate + flow_warp(
            low, flow[:, 2:]
        ) * (1 - gate)
        use_fast_flow_warp(gdfam)
        fast = gdfam(
            low.contiguous(memory_format=CL), high.contiguous(memory_format=CL)
        )
    assert torch.allclose(got, want, atol=1e-6, rtol=0)
    assert torch.allclose(fast, want, atol=1e-6, rtol=0)
