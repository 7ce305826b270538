import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from sfseg.models.layers import NNPACKConv2d
from sfseg.utils import prepare_for_inference

DSN = 'configs/sfnet/sfnet-dsn_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
LITE = (
    'configs/sfnet_lite/sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py'
)


def randomise_bn(model):
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(
                torch.rand(m.num_features, generator=gen) + 0.5
            )
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen))


@pytest.mark.parametrize('config', [DSN, LITE])
@pytest.mark.parametrize(
    'channels_last,nnpack',
    [(False, False), (True, False), (False, True), (True, True)],
)
def test_prepared_model_gives_the_same_logits(
    repo_root, config, channels_last, nnpack, monkeypatch
):
    if nnpack:  # every eligible conv through NNPACK, whatever is faster
        monkeypatch.setattr(
            NNPACKConv2d, '_choose', lambda self, x: ('nnpack', None)
        )
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{repo_root}/{config}')
    model = MODELS.build(cfg.model)
    randomise_bn(model)
    model.eval()
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        ref = model(x, None, mode='tensor')
        fast = prepare_for_inference(
            model, channels_last=channels_last, nnpack=nnpack
        )
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        out = fast(x, None, mode='tensor')
    assert (out - ref).abs().max() < 1e-4 * max(1.0, ref.abs().max())
    bns = [
        m
        for m in fast.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert not bns  # every BN folded
    assert not hasattr(fast.decode_head, 'dsn')
    kinds = {type(m).__name__ for m in fast.modules()}
    assert ('NNPACKConv2d' in kinds) == nnpack
    assert 'LowResFusion' in kinds  # the fusion conv split by level
    if config == DSN:  # ResNet's stem pool
        assert 'SeparableMaxPool2d' in kinds


def test_fold_skips_bn_whose_wiring_is_not_certain():
    from sfseg.utils import fold_batchnorms

    class Misordered(torch.nn.Module):
        # registration order conv_a, bn, conv_b; data flow conv_b -> bn
        def __init__(self):
            super().__init__()
            self.conv_a = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(8)
            self.conv_b = torch.nn.Conv2d(8, 8, 1)
            self.seq = torch.nn.Sequential(
                torch.nn.Conv2d(8, 8, 1), torch.nn.BatchNorm2d(8)
            )

        def forward(self, x):
            return self.seq(self.bn(self.conv_b(self.conv_a(x))))

    model = Misordered()
    randomise_bn(model)
    model.eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        ref = model(x)
        assert fold_batchnorms(model) == 1  # only the Sequential pair
        assert torch.allclose(model(x), ref, atol=1e-5)
    assert isinstance(model.bn, torch.nn.BatchNorm2d)


def test_low_res_fusion_can_be_left_out(repo_root):
    cfg = Config.fromfile(f'{repo_root}/{LITE}')
    model = MODELS.build(cfg.model)
    fast = prepare_for_inference(model, low_res_fusion=False)
    assert fast.decode_head.low_res_fusion is None
