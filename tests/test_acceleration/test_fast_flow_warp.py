"""The prepared model's flow warp: a grid cache per module and gather
sampling of channels-last inputs, attached from outside FAM / GD-FAM."""

import torch

from sfseg.acceleration import (
    AccelerationOptions,
    FastFlowWarp,
    override,
    use_fast_flow_warp,
)
from sfseg.models.layers import GDFAM, FlowWarp, base_grid, flow_warp


def test_grid_cache_is_reused_and_bypassed_when_tracing():
    warp = FastFlowWarp()
    flow = torch.zeros(1, 2, 7, 9)
    first, second = warp.grid(flow), warp.grid(torch.ones(3, 2, 7, 9))
    assert first is second  # cached per (size, dtype, device)
    assert torch.equal(first, base_grid(flow))
    assert warp.grid(flow.double()) is not first
    x = torch.randn(1, 3, 4, 5)
    graph = torch.jit.trace(warp, (x, flow))
    other = torch.randn(1, 2, 5, 11)
    assert torch.equal(graph(x, other), flow_warp(x, other))
    assert (
        len(FastFlowWarp(AccelerationOptions(grid_cache_size=1))._grids) == 0
    )


def test_cache_size_is_bounded():
    warp = FastFlowWarp(AccelerationOptions(grid_cache_size=2))
    for w in (3, 4, 5, 6):
        warp.grid(torch.zeros(1, 2, 2, w))
    assert [key[0] for key in warp._grids] == [(2, 5), (2, 6)]


def test_replaces_the_paper_warp_and_gathers_channels_last():
    torch.manual_seed(0)
    module = GDFAM(16).eval()
    low = torch.randn(1, 16, 12, 20)
    high = torch.randn(1, 16, 6, 10)
    with torch.no_grad():
        want = module(low, high)
        assert use_fast_flow_warp(module) == 1
        assert type(module.warp) is FastFlowWarp
        assert module.state_dict().keys() == GDFAM(16).state_dict().keys()
        cl = torch.channels_last
        module.to(memory_format=cl)
        got = module(low.to(memory_format=cl), high.to(memory_format=cl))
        assert got.is_contiguous(memory_format=cl)  # gathered
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
        with override(gather_warp=False, grid_cache=False):
            plain = module(low.to(memory_format=cl), high.to(memory_format=cl))
        assert plain.is_contiguous()  # grid_sample's NCHW output
        torch.testing.assert_close(plain, want, atol=1e-5, rtol=0)
    assert use_fast_flow_warp(module) == 0
    assert type(GDFAM(16).warp) is FlowWarp
