import pytest
import torch

from sfseg.acceleration import to_channels_last, to_nchw

CL = torch.channels_last


@pytest.mark.parametrize(
    'shape',
    [
        (1, 24, 16, 32),  # 512 pixels: blocks of 256
        (2, 5, 6, 8),  # 48 pixels: blocks of 16
        (1, 3, 7, 9),  # 63 pixels: no block size divides, one copy
        (1, 1, 4, 4),
    ],
)
def test_copies_keep_values_and_give_the_layout(shape):
    x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32)
    x = x.view(shape)
    xcl = x.contiguous(memory_format=CL)
    nchw = to_nchw(xcl)
    assert nchw.is_contiguous()
    assert torch.equal(nchw, x)
    back = to_channels_last(x)
    assert back.is_contiguous(memory_format=CL)
    assert torch.equal(back, x)
    assert back.shape == x.shape


def test_inputs_in_another_layout_are_copied_plainly():
    x = torch.randn(1, 4, 8, 8)
    strided = x[:, :, ::2, ::2]  # neither NCHW- nor channels-last-contiguous
    assert torch.equal(to_nchw(strided), strided)
    assert to_nchw(strided).is_contiguous()
    assert torch.equal(to_channels_last(strided), strided)
    assert to_channels_last(strided).is_contiguous(memory_format=CL)
