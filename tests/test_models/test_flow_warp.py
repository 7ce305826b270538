import pytest
import torch
import torch.nn.functional as F

from sfseg.models.layers import base_grid, flow_warp


def official_flow_warp(x, flow, size):
    """The official SFNet warp, written out for comparison."""
    out_h, out_w = size
    n = x.shape[0]
    norm = torch.tensor([[[[out_w, out_h]]]]).type_as(x)
    h_grid = torch.linspace(-1.0, 1.0, out_h).view(-1, 1).repeat(1, out_w)
    w_grid = torch.linspace(-1.0, 1.0, out_w).repeat(out_h, 1)
    grid = torch.cat((w_grid.unsqueeze(2), h_grid.unsqueeze(2)), 2)
    grid = grid.repeat(n, 1, 1, 1).type_as(x)
    grid = grid + flow.permute(0, 2, 3, 1) / norm
    return F.grid_sample(x, grid, align_corners=True)


@pytest.mark.parametrize('h,w', [(1, 1), (1, 5), (4, 7), (16, 32)])
def test_base_grid_equals_linspace(h, w):
    grid = base_grid(torch.zeros(2, 2, h, w))
    assert grid.shape == (1, h, w, 2)
    ys = torch.linspace(-1, 1, h)
    xs = torch.linspace(-1, 1, w)
    assert torch.allclose(grid[0, :, :, 0], xs.expand(h, w), atol=1e-6)
    assert torch.allclose(
        grid[0, :, :, 1], ys[:, None].expand(h, w), atol=1e-6
    )


@pytest.mark.parametrize(
    'in_size,out_size',
    [((8, 16), (16, 32)), ((12, 20), (24, 40)), ((16, 32), (16, 32))],
)
def test_zero_flow_is_bilinear_align_corners(in_size, out_size):
    torch.manual_seed(0)
    x = torch.randn(2, 3, *in_size)
    out = flow_warp(x, torch.zeros(2, 2, *out_size))
    ref = F.interpolate(x, out_size, mode='bilinear', align_corners=True)
    assert out.shape == (2, 3, *out_size)
    assert (out - ref).abs().max() < 1e-5


@pytest.mark.parametrize(
    'in_size,out_size', [((8, 16), (16, 32)), ((12, 20), (24, 40))]
)
def test_matches_official_semantics_at_two_sizes(in_size, out_size):
    torch.manual_seed(0)
    x = torch.randn(2, 4, *in_size)
    flow = torch.randn(2, 2, *out_size) * 3
    out = flow_warp(x, flow)
    ref = official_flow_warp(x, flow, out_size)
    assert (out - ref).abs().max() < 1e-5


def test_one_pixel_shift_and_zero_padding():
    # Same-size warp: flow_x = 2W/(W-1) moves every sample one pixel right.
    h, w = 5, 9
    x = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w)
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = 2 * w / (w - 1)
    out = flow_warp(x, flow)
    assert torch.allclose(out[..., :-1], x[..., 1:], atol=1e-4)
    assert out[..., -1].abs().max() < 1e-4  # sampled outside: zeros
    flow = torch.zeros(1, 2, h, w)
    flow[:, 1] = -2 * h / (h - 1)  # one pixel up
    out = flow_warp(x, flow)
    assert torch.allclose(out[:, :, 1:], x[:, :, :-1], atol=1e-4)
    assert out[:, :, 0].abs().max() < 1e-4


def test_gradients_reach_flow_and_input():
    x = torch.randn(1, 2, 6, 6, requires_grad=True)
    flow = torch.randn(1, 2, 12, 12, requires_grad=True)
    flow_warp(x, flow).sum().backward()
    assert x.grad.abs().sum() > 0
    assert flow.grad.abs().sum() > 0


def test_base_grid_follows_the_input_size_when_traced():
    flow = torch.zeros(1, 2, 7, 9)
    graph = torch.jit.trace(base_grid, (flow,))
    other = torch.zeros(1, 2, 5, 11)
    assert torch.equal(graph(other), base_grid(other))
