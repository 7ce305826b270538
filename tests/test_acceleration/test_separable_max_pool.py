import importlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sfseg.acceleration import (
    SeparableMaxPool2d,
    separable_max_pool,
    use_separable_max_pool,
)

CL = torch.channels_last


@pytest.mark.parametrize(
    'shape',
    [(1, 1, 1, 1), (2, 3, 5, 7), (1, 4, 6, 8), (1, 2, 9, 2), (1, 3, 2, 11)],
)
def test_equals_max_pool2d(shape):
    torch.manual_seed(0)
    x = torch.randn(shape)
    expected = F.max_pool2d(x, 3, stride=2, padding=1)
    out = separable_max_pool(x)
    assert out.shape == expected.shape
    assert torch.equal(out, expected)


def test_nan_propagates_like_max_pool2d():
    x = torch.randn(1, 2, 6, 6)
    x[0, 1, 3, 2] = float('nan')
    expected = F.max_pool2d(x, 3, stride=2, padding=1)
    out = separable_max_pool(x)
    assert torch.equal(out.isnan(), expected.isnan())
    assert out.isnan().sum() == expected.isnan().sum() > 0


def test_module_swap_only_for_the_stem_pool():
    model = nn.Sequential(
        nn.MaxPool2d(3, 2, 1),
        nn.MaxPool2d(2, 2),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)),
    )
    assert use_separable_max_pool(model) == 2
    assert [type(m) for m in model] == [
        SeparableMaxPool2d,
        nn.MaxPool2d,
        nn.MaxPool2d,
        SeparableMaxPool2d,
    ]


def test_module_takes_stock_path_for_channels_last_and_autograd(
    monkeypatch,
):
    pool = nn.MaxPool2d(3, 2, 1)
    use_separable_max_pool(pool)
    used = []
    module = importlib.import_module('sfseg.acceleration.separable_max_pool')
    real = module.separable_max_pool
    monkeypatch.setattr(
        module,
        'separable_max_pool',
        lambda x: used.append(1) or real(x),
    )
    x = torch.randn(1, 4, 10, 12)
    with torch.no_grad():
        assert torch.equal(pool(x), F.max_pool2d(x, 3, 2, 1))
        assert used == [1]
        out = pool(x.contiguous(memory_format=CL))
        assert torch.equal(out, F.max_pool2d(x, 3, 2, 1))
        assert used == [1]
    x.requires_grad_(True)
    pool(x).sum().backward()  # training: stock kernel with its backward
    assert used == [1] and x.grad.sum() > 0
