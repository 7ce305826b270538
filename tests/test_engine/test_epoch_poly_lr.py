"""SFEpochPolyLR against the official LambdaLR stepped per epoch."""

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import PARAM_SCHEDULERS

from sfseg.engine import SFEpochPolyLR


def official_lrs(base, iters_per_epoch, max_epochs, power=1.0):
    """The official train.py loop: scheduler.step() before every epoch."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: (1 - e / max_epochs) ** power
    )
    lrs = []
    for _ in range(max_epochs):
        sched.step()
        for _ in range(iters_per_epoch):
            lrs.append(opt.param_groups[0]['lr'])
            opt.step()
    return lrs


def ours(base, iters_per_epoch, max_epochs, power=1.0):
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=base, momentum=0.9))
    sched = PARAM_SCHEDULERS.build(
        dict(
            type='SFEpochPolyLR',
            iters_per_epoch=iters_per_epoch,
            max_epochs=max_epochs,
            power=power,
        ),
        default_args=dict(optimizer=wrapper),
    )
    assert isinstance(sched, SFEpochPolyLR)
    lrs = []
    for _ in range(iters_per_epoch * max_epochs):
        lrs.append(wrapper.get_lr()['lr'][0])
        sched.step()
    return lrs


@pytest.mark.parametrize('power', [1.0, 0.9])
def test_equals_the_official_schedule_at_every_iteration(power):
    want = official_lrs(0.01, 7, 5, power)
    got = ours(0.01, 7, 5, power)
    assert len(got) == len(want) == 35
    assert got == pytest.approx(want, rel=1e-12, abs=0)


def test_values_at_epoch_boundaries():
    # Cityscapes fine at 8 x 2 images: 186 iterations, 300 epochs
    lrs = ours(0.01, 186, 300)
    assert len(lrs) == 55800
    assert lrs[0] == pytest.approx(0.01 * (1 - 1 / 300))  # 0.009967
    assert lrs[185] == lrs[0]  # constant inside an epoch
    assert lrs[186] == pytest.approx(0.01 * (1 - 2 / 300))  # epoch 1
    assert lrs[2 * 186] == pytest.approx(0.01 * (1 - 3 / 300))  # epoch 2
    assert lrs[299 * 186] == 0.0  # the last epoch trains at 0
    assert lrs[-1] == 0.0


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(iters_per_epoch=0, max_epochs=3), 'iters_per_epoch .* got 0'),
        (
            dict(iters_per_epoch=2.5, max_epochs=3),
            'iters_per_epoch .* got 2.5',
        ),
        (dict(iters_per_epoch=4, max_epochs=-1), 'max_epochs .* got -1'),
        (dict(iters_per_epoch=4, max_epochs=3, power=0), 'power .* got 0'),
        (dict(iters_per_epoch=4, max_epochs=3, by_epoch=True), 'by_epoch'),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    wrapper = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    )
    with pytest.raises(ValueError, match=match):
        SFEpochPolyLR(wrapper, **kwargs)


def test_span_comes_from_the_epochs_not_the_runners_end():
    # mmengine's Runner sets end=max_epochs (1 for an IterBasedTrainLoop)
    # on schedulers whose config does not say by_epoch=False
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=0.01))
    sched = SFEpochPolyLR(wrapper, iters_per_epoch=2, max_epochs=4, end=1)
    lrs = []
    for _ in range(8):
        lrs.append(wrapper.get_lr()['lr'][0])
        sched.step()
    assert lrs == pytest.approx(
        [0.0075, 0.0075, 0.005, 0.005, 0.0025, 0.0025, 0.0, 0.0]
    )
