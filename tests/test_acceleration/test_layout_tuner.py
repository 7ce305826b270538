import pytest
import torch
import torch.nn as nn

from sfseg.acceleration import (
    SCHEDULE,
    AccelerationOptions,
    LayoutTuner,
    in_effect,
    layout_tuner,
    override,
    tune_layout,
)

CL = torch.channels_last


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeSegmentor(nn.Module):
    """``encode_decode`` costs ``cost[layout]`` fake seconds, the layout
    read from the conv weight as a real model's kernels would."""

    def __init__(self, clock, cost):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.clock, self.cost = clock, cost
        self.seen = []
        self.timing = []  # whether kernels could be timed in each call

    def encode_decode(self, inputs, batch_img_metas):
        cl = self.conv.weight.is_contiguous(memory_format=CL)
        layout = 'channels_last' if cl else 'nchw'
        self.seen.append(layout)
        self.timing.append(in_effect(AccelerationOptions()).kernel_timing)
        self.clock.now += self.cost[layout]
        return self.conv(inputs)


@pytest.mark.parametrize(
    'cost,chosen',
    [
        ({'channels_last': 1.0, 'nchw': 2.0}, 'channels_last'),
        ({'channels_last': 2.0, 'nchw': 1.0}, 'nchw'),
    ],
)
def test_tuner_keeps_the_faster_layout(monkeypatch, cost, chosen):
    clock = Clock()
    monkeypatch.setattr(layout_tuner.time, 'perf_counter', clock)
    model = FakeSegmentor(clock, cost)
    ref = nn.Conv2d(3, 2, 3, padding=1)
    ref.load_state_dict(model.conv.state_dict())
    tuner = tune_layout(model)
    assert model.layout_tuner is tuner
    x = torch.randn(1, 3, 8, 10)
    with torch.no_grad():
        outs = [model.encode_decode(x, None) for _ in range(8)]
        expected = ref(x)
    # channels-last untuned, tuning, timed; NCHW tuning, timed; the faster
    assert model.seen == ['channels_last'] * 3 + ['nchw'] * 2 + [chosen] * 3
    assert model.timing == [False] + [True] * 7
    assert [step[0] for step in SCHEDULE] == model.seen[:5]
    assert tuner.choice == {(1, 3, 8, 10): chosen}
    assert tuner.timings[(1, 3, 8, 10)] == cost
    for out in outs:  # every call returns its logits
        assert (out - expected).abs().max() < 1e-6


def test_tuner_decides_per_input_shape(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(layout_tuner.time, 'perf_counter', clock)
    model = FakeSegmentor(clock, {'channels_last': 2.0, 'nchw': 1.0})
    tuner = LayoutTuner(model)
    a, b = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        for _ in range(len(SCHEDULE)):
            tuner(a, None)
        assert tuner.choice == {(1, 3, 8, 8): 'nchw'}
        tuner(b, None)  # a new shape starts channels-last again
    assert model.seen[-1] == 'channels_last'
    assert tuner.step_for((1, 3, 8, 8))[0] == 'nchw'
    assert tuner.step_for((1, 3, 4, 4)) == ('channels_last', True, False)


def test_one_call_runs_channels_last(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(layout_tuner.time, 'perf_counter', clock)
    model = FakeSegmentor(clock, {'channels_last': 2.0, 'nchw': 1.0})
    model.to(memory_format=torch.contiguous_format)
    tune_layout(model)
    with torch.no_grad():
        model.encode_decode(torch.randn(1, 3, 8, 8), None)
    assert model.seen == ['channels_last']
    assert model.timing == [False]  # a single image times no kernels


class DriftingSegmentor(FakeSegmentor):
    """Logits of 1 that move by ``drift`` whenever NNPACK may run (kernel
    timing on and NNPACK not switched off)."""

    def __init__(self, clock, cost, drift):
        super().__init__(clock, cost)
        self.drift = drift

    def encode_decode(self, inputs, batch_img_metas):
        out = torch.ones_like(super().encode_decode(inputs, batch_img_metas))
        options = in_effect(AccelerationOptions(nnpack=True))
        if options.kernel_timing and options.nnpack:
            out = out + self.drift
        return out


@pytest.mark.parametrize('drift, kept', [(1e-3, False), (1e-6, True)])
def test_nnpack_dropped_where_it_drifts_from_onednn(monkeypatch, drift, kept):
    clock = Clock()
    monkeypatch.setattr(layout_tuner.time, 'perf_counter', clock)
    model = DriftingSegmentor(clock, {'channels_last': 1, 'nchw': 2}, drift)
    tuner = tune_layout(model, AccelerationOptions(nnpack=True))
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outs = [model.encode_decode(x, None) for _ in range(len(SCHEDULE) + 2)]
    shape = tuple(x.shape)
    assert (shape not in tuner.no_nnpack) == kept
    assert tuner.drift[shape] == pytest.approx(drift, rel=0.1)  # fp32
    bound = AccelerationOptions().nnpack_max_drift
    scale = float(outs[0].abs().max())
    worst = max(float((o - outs[0]).abs().max()) / scale for o in outs)
    assert worst <= max(drift, 1e-7) if kept else worst <= bound
    assert tuner.choice[shape] == 'channels_last'
    assert shape not in tuner.reference  # released once tuned
    with torch.no_grad(), override(nnpack_max_drift=1.0):
        y = torch.randn(1, 3, 8, 8)
        for _ in range(len(SCHEDULE)):
            model.encode_decode(y, None)
    assert tuple(y.shape) not in tuner.no_nnpack  # the bound is an option


def test_references_are_bounded_and_evicted_shapes_keep_onednn(monkeypatch):
    """A folder of images of many sizes: the tuner keeps the oneDNN
    reference of at most 16 shapes, each at most 64 x 64 per channel; a
    shape whose reference went can no longer be checked and never runs
    NNPACK (its later calls do not drift)."""
    clock = Clock()
    monkeypatch.setattr(layout_tuner.time, 'perf_counter', clock)
    model = DriftingSegmentor(clock, {'channels_last': 1, 'nchw': 2}, 1e-3)
    tuner = tune_layout(model, AccelerationOptions(nnpack=True))
    with torch.no_grad():
        first = torch.randn(1, 3, 300, 200)
        model.encode_decode(first, None)
        assert tuner.reference[tuple(first.shape)].shape[-2:] == (60, 50)
        for side in range(8, 8 + 16):
            model.encode_decode(torch.randn(1, 3, side, side), None)
        assert len(tuner.reference) == 16
        assert tuple(first.shape) in tuner.no_nnpack
        outs = [model.encode_decode(first, None) for _ in SCHEDULE]
    assert all(torch.equal(o, torch.ones_like(o)) for o in outs)
