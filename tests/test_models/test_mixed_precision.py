"""The SF modules under autocast (CPU bf16 and fp16): no dtype errors in
any layout or warp path, sampling grids in float32 whatever the autocast
dtype, and half-precision warps equal to the float32 warp of the same
inputs up to the rounding of the output. On CPUs without native bf16 /
fp16 these run emulated, hence the small inputs."""

import math

import pytest
import torch

from sfseg.acceleration import FastFlowWarp, use_fast_flow_warp
from sfseg.models.layers import FAM, GDFAM, PPM, base_grid, flow_warp

CL = torch.channels_last
HALF = (torch.bfloat16, torch.float16)


def half_ulp(x, dtype):
    """Half the spacing of ``dtype`` numbers at ``|x|``: the largest error
    of rounding ``x`` to ``dtype``."""
    mantissa_bits = {torch.bfloat16: 8, torch.float16: 11}[dtype]
    exponent = torch.frexp(x.abs())[1]  # |x| < 2 ** exponent
    # subnormals are spaced as the smallest normal numbers
    exponent = exponent.clamp(min=math.frexp(torch.finfo(dtype).tiny)[1])
    return torch.ldexp(torch.ones_like(x), exponent - mantissa_bits - 1)


def layout(x, name):
    fmt = CL if name == 'channels_last' else torch.contiguous_format
    return x.contiguous(memory_format=fmt)


@pytest.mark.parametrize('dtype', HALF)
def test_grid_of_a_half_flow_is_the_float32_grid(dtype):
    # width 512: bf16 rounds the pixel positions by up to 2 px there
    flow = torch.zeros(1, 2, 3, 512, dtype=dtype)
    grid = base_grid(flow)
    assert grid.dtype == torch.float32
    assert torch.equal(grid, base_grid(flow.float()))
    assert torch.equal(FastFlowWarp().grid(flow), grid)  # the cached one
    xs = torch.linspace(-1, 1, 512)
    assert (grid[0, 0, :, 0] - xs).abs().max() < 1e-6


@pytest.mark.parametrize('grad', [False, True])
@pytest.mark.parametrize('memory', ['nchw', 'channels_last'])
@pytest.mark.parametrize('dtype', HALF)
def test_half_warp_is_the_float32_warp_rounded(dtype, memory, grad):
    """Output rounding is the only difference, at a width (512) where a
    half-precision grid is off by pixels (bf16: up to 2)."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(1, 8, 32, 128, generator=gen) * 1.6).to(dtype)
    flow = (torch.randn(1, 2, 64, 512, generator=gen) * 3).to(dtype)
    x = layout(x, memory)
    with torch.set_grad_enabled(grad), torch.autocast('cpu', dtype=dtype):
        got = FastFlowWarp()(x, flow)  # gathers channels-last inputs
        want = flow_warp(x.float(), flow.float())
    assert got.dtype == dtype and want.dtype == torch.float32
    err = (got.float() - want).abs()
    tol = half_ulp(want, dtype) * 1.001  # ties: want is fp32-rounded too
    if memory == 'channels_last' and not grad:
        # the gather's weights as two half-precision parts: fp32-exact to
        # about 2**-17 of the inputs
        tol = tol + 2**-16 * float(x.abs().max())
    else:  # grid_sample in fp32, rounded once
        assert torch.equal(got, want.to(dtype))
    assert (err <= tol).all(), float((err - tol).max())


def test_float32_and_float64_warps_keep_their_dtype():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 8, 16, generator=gen, dtype=torch.float64)
    flow = torch.randn(1, 2, 16, 32, generator=gen, dtype=torch.float64)
    assert base_grid(flow).dtype == torch.float64
    out64 = flow_warp(x, flow)
    assert out64.dtype == torch.float64
    out32 = flow_warp(x.float(), flow.float())
    assert out32.dtype == torch.float32
    assert (out32.double() - out64).abs().max() < 1e-5


def modules(name):
    torch.manual_seed(0)
    if name == 'FAM':
        return FAM(16), 'pair'
    if name == 'GDFAM':
        return GDFAM(16), 'pair'
    return PPM(16, 8, pool_scales=(1, 2, 3, 6)).eval(), 'single'


@pytest.mark.parametrize('grad', [False, True])
@pytest.mark.parametrize('memory', ['nchw', 'channels_last'])
@pytest.mark.parametrize('dtype', HALF)
@pytest.mark.parametrize('name', ['FAM', 'GDFAM', 'PPM'])
@pytest.mark.parametrize(
    'in_dtypes',
    [('fp32', 'fp32'), ('half', 'half'), ('half', 'fp32')],
)
def test_modules_run_under_autocast(name, dtype, memory, grad, in_dtypes):
    """Inputs in fp32, in the autocast dtype, or mixed (as a warp or a
    pooling branch may hand them on): no dtype error, output close to
    fp32."""
    module, arity = modules(name)
    if memory == 'channels_last':  # the prepared model's gather warp too
        use_fast_flow_warp(module)
    gen = torch.Generator().manual_seed(2)
    low = torch.randn(1, 16, 16, 32, generator=gen)
    high = torch.randn(1, 16, 4, 8, generator=gen)
    dtypes = [dtype if d == 'half' else torch.float32 for d in in_dtypes]
    inputs = [low, high] if arity == 'pair' else [high]
    cast = [layout(t.to(d), memory) for t, d in zip(inputs, dtypes)]
    with torch.no_grad():
        want = module(*[t.to(d).float() for t, d in zip(inputs, dtypes)])
    with torch.set_grad_enabled(grad), torch.autocast('cpu', dtype=dtype):
        got = module(*cast)
    assert got.shape == want.shape
    assert got.dtype in (dtype, torch.float32)
    scale = float(want.abs().max())
    tol = 0.05 if dtype == torch.bfloat16 else 0.01
    assert float((got.float() - want).abs().max()) < tol * scale
    if grad:
        got.float().square().sum().backward()
        first = next(module.parameters())
        assert first.grad is not None and torch.isfinite(first.grad).all()


@pytest.mark.parametrize('dtype', HALF)
def test_gdfam_gate_takes_the_warps_dtype(dtype):
    """The gate conv leaves autocast in its dtype while a warp may leave
    in fp32; the blend happens in the wider of the two warps' dtypes."""
    gdfam = GDFAM(8)
    gen = torch.Generator().manual_seed(3)
    low = torch.randn(1, 8, 8, 16, generator=gen)
    high = torch.randn(1, 8, 4, 8, generator=gen)
    with torch.no_grad(), torch.autocast('cpu', dtype=dtype):
        assert gdfam(low, high).dtype == torch.float32
        assert gdfam(low.to(dtype), high.to(dtype)).dtype == dtype
        assert gdfam(low.to(dtype), high).dtype == torch.float32
