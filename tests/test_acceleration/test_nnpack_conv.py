import dataclasses

import pytest
import torch
import torch.nn as nn

from sfseg.acceleration import (
    NNPACKConv2d,
    nnpack_conv,
    nnpack_eligible,
    override,
    use_nnpack_conv,
)

CL = torch.channels_last
needs_nnpack = pytest.mark.skipif(
    not torch._nnpack_available(), reason='PyTorch built without NNPACK'
)


def make_conv(cin=16, cout=24, seed=0):
    torch.manual_seed(seed)
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    ref = nn.Conv2d(cin, cout, 3, padding=1)
    ref.load_state_dict(conv.state_dict())
    assert use_nnpack_conv(conv) == 1
    return conv.eval(), ref.eval()


def fake_timer(monkeypatch, onednn, nnpack):
    """``_best_time`` that runs each kernel once and reports fixed
    seconds per kernel; returns the kernels it timed, in order."""
    seconds = dict(onednn=onednn, nnpack=nnpack)
    calls, used = [], []
    real = NNPACKConv2d._nnpack

    def tracked(self, x):
        used.append(1)
        return real(self, x)

    def best_time(fn, repeats):
        used.clear()
        out = fn()
        calls.append('nnpack' if used else 'onednn')
        return seconds[calls[-1]], out

    monkeypatch.setattr(NNPACKConv2d, '_nnpack', tracked)
    monkeypatch.setattr(nnpack_conv, '_best_time', best_time)
    return calls


def test_eligibility():
    assert nnpack_eligible(nn.Conv2d(4, 4, 3, padding=1))
    assert not nnpack_eligible(nn.Conv2d(4, 4, 3, stride=2, padding=1))
    assert not nnpack_eligible(nn.Conv2d(4, 4, 3, padding=2, dilation=2))
    assert not nnpack_eligible(nn.Conv2d(4, 4, 3, padding=1, groups=2))
    assert not nnpack_eligible(nn.Conv2d(4, 4, 1))
    assert not nnpack_eligible(nn.Conv2d(4, 4, 3, padding=0))
    assert not nnpack_eligible(
        nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect')
    )


@needs_nnpack
def test_swap_keeps_parameters_and_state_dict():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.Conv2d(8, 8, 1),
        nn.Conv2d(8, 4, 3, padding=1, bias=False),
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert use_nnpack_conv(model) == 2
    assert [type(m).__name__ for m in model] == [
        'NNPACKConv2d',
        'Conv2d',
        'Conv2d',
        'NNPACKConv2d',
    ]
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], v) for k, v in before.items())


@needs_nnpack
@pytest.mark.parametrize('bias', [True, False])
def test_nnpack_kernel_matches_conv(monkeypatch, bias):
    conv, ref = make_conv()
    if not bias:
        conv.bias = ref.bias = None
    fake_timer(monkeypatch, onednn=2.0, nnpack=1.0)
    x = torch.randn(2, 16, 20, 36)
    with torch.no_grad():
        out = conv(x)
        expected = ref(x)
    assert conv.kernel_for(x) == 'nnpack'
    assert out.shape == (2, 24, 20, 36)
    assert out.is_contiguous()
    scale = expected.abs().max()
    assert (out - expected).abs().max() <= 1e-5 * scale
    assert not torch.equal(out, expected)  # really another kernel


@needs_nnpack
def test_small_channels_last_conv_keeps_onednn_untimed(monkeypatch):
    conv, ref = make_conv()
    conv.to(memory_format=CL)
    ref.to(memory_format=CL)
    calls = fake_timer(monkeypatch, onednn=2.0, nnpack=1.0)
    x = torch.randn(1, 16, 12, 20).contiguous(memory_format=CL)
    assert x.numel() * 24 * 9 < conv.options.nnpack_min_channels_last_macs
    with torch.no_grad():
        out = conv(x)
        assert torch.equal(out, ref(x))
        assert out.is_contiguous(memory_format=CL)
    assert conv.kernel_for(x) == 'onednn'
    assert calls == []  # the layout copies would cost more than NNPACK saves


@needs_nnpack
@pytest.mark.parametrize('weights', [CL, torch.contiguous_format])
def test_wide_channels_last_conv_runs_nnpack_in_nchw(monkeypatch, weights):
    conv, ref = make_conv()
    # as if it were SFNet's conv_last
    conv.options = dataclasses.replace(
        conv.options, nnpack_min_channels_last_macs=0
    )
    conv.to(memory_format=weights)
    calls = fake_timer(monkeypatch, onednn=2.0, nnpack=1.0)
    x = torch.randn(2, 16, 16, 24)
    xcl = x.contiguous(memory_format=CL)
    with torch.no_grad():
        out = conv(xcl)
        nchw = conv(x)
        expected = ref(x)
    assert conv.kernel_for(xcl) == 'nnpack'
    assert len(calls) == 4  # each layout timed on its own
    assert out.is_contiguous(memory_format=CL)
    assert torch.equal(out, nchw)  # the same NNPACK kernel on NCHW copies
    assert (out - expected).abs().max() <= 1e-5 * expected.abs().max()


@needs_nnpack
@pytest.mark.parametrize('onednn,nnpack', [(2.0, 1.0), (1.0, 2.0)])
def test_timing_call_returns_the_chosen_kernels_output(
    monkeypatch, onednn, nnpack
):
    conv, ref = make_conv()
    fake_timer(monkeypatch, onednn, nnpack)
    runs = []
    real = conv._nnpack
    monkeypatch.setattr(conv, '_nnpack', lambda x: runs.append(1) or real(x))
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        first = conv(x)
        second = conv(x)
        assert torch.equal(first, second)  # same kernel both times
        assert torch.equal(first, ref(x)) == (onednn < nnpack)
    # faster: its first run decides, the second call runs it again;
    # slower: a second timed run confirms, the second call runs oneDNN
    assert len(runs) == 2


@needs_nnpack
def test_near_tie_keeps_onednn(monkeypatch):
    conv, ref = make_conv()
    fake_timer(monkeypatch, onednn=1.0, nnpack=0.97)
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        assert torch.equal(conv(x), ref(x))
    assert conv.kernel_for(x) == 'onednn'


@needs_nnpack
def test_kernel_timing_off_runs_onednn_and_remembers_nothing(monkeypatch):
    conv, ref = make_conv()
    calls = fake_timer(monkeypatch, onednn=2.0, nnpack=1.0)
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        with override(kernel_timing=False):
            assert torch.equal(conv(x), ref(x))
            assert calls == []
        assert conv.kernel_for(x) == 'nnpack'  # timed now
        assert len(calls) == 2
        with override(kernel_timing=False):  # a known choice still applies
            assert not torch.equal(conv(x), ref(x))


@needs_nnpack
@pytest.mark.parametrize(
    'onednn,nnpack,chosen', [(2.0, 1.0, 'nnpack'), (1.0, 2.0, 'onednn')]
)
def test_faster_kernel_is_chosen_once_per_shape(
    monkeypatch, onednn, nnpack, chosen
):
    conv, _ = make_conv()
    calls = fake_timer(monkeypatch, onednn, nnpack)
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        conv(x)
        conv(x)
        assert conv.kernel_for(x) == chosen
        # timed once: oneDNN, then NNPACK (again if its first run lost)
        once = ['onednn', 'nnpack'] + ['nnpack'] * (chosen == 'onednn')
        assert calls == once
        conv(torch.randn(1, 16, 8, 12))  # a new shape is timed again
        assert calls == once * 2
        conv(x.contiguous(memory_format=CL))  # small channels-last: untimed
        assert calls == once * 2


@needs_nnpack
def test_nnpack_failure_falls_back_to_onednn(monkeypatch):
    conv, ref = make_conv()

    def fail(x):
        raise RuntimeError('NNPACK SpatialConvolution_updateOutput failed')

    monkeypatch.setattr(conv, '_nnpack', fail)
    x = torch.randn(1, 16, 10, 10)
    with torch.no_grad():
        assert torch.equal(conv(x), ref(x))
    assert conv.kernel_for(x) == 'onednn'


@needs_nnpack
def test_training_autocast_and_switch_take_the_stock_path(monkeypatch):
    conv, ref = make_conv()
    calls = fake_timer(monkeypatch, onednn=2.0, nnpack=1.0)
    x = torch.randn(1, 16, 10, 10, requires_grad=True)
    out = conv(x)  # autograd on
    assert torch.equal(out, ref(x))
    out.sum().backward()
    assert x.grad is not None
    with torch.no_grad():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert conv(x).dtype == torch.bfloat16
        with override(nnpack=False):
            assert torch.equal(conv(x), ref(x))
    assert calls == []  # nothing was timed


def test_no_nnpack_build_changes_nothing(monkeypatch):
    monkeypatch.setattr(nnpack_conv, 'nnpack_available', lambda: False)
    conv = nn.Conv2d(3, 3, 3, padding=1)
    assert use_nnpack_conv(conv) == 0
    assert type(conv) is nn.Conv2d
    assert NNPACKConv2d.options.nnpack_repeats >= 1


@needs_nnpack
def test_untimed_call_spares_the_onednn_warm_up(monkeypatch):
    conv, _ = make_conv()
    repeats = []

    def best_time(fn, n):
        repeats.append(n)
        return 1.0, fn()  # a tie: NNPACK is timed a second time

    monkeypatch.setattr(nnpack_conv, '_best_time', best_time)
    x, y = torch.randn(1, 16, 12, 12), torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        with override(kernel_timing=False):
            conv(x)  # oneDNN has run this shape: no warm-up needed
        conv(x)
        conv(y)  # a shape oneDNN has not run: one more oneDNN run
    r = conv.options.nnpack_repeats
    assert repeats == [r, 1, r, r + 1, 1, r]
    assert conv.kernel_for(x) == conv.kernel_for(y) == 'onednn'
