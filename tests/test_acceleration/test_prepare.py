import copy
import itertools

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from sfseg.acceleration import (
    AccelerationOptions,
    NNPACKConv2d,
    accelerate,
    fold_batchnorms,
)

_BN = torch.nn.modules.batchnorm._BatchNorm

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


SWITCHES = (
    'drop_training',
    'fold_bn',
    'channels_last',
    'nnpack',
    'low_res_fusion',
    'gather_warp',
    'grid_cache',
    'separable_max_pool',
)
STDC1 = 'configs/sfnet/sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py'


@pytest.mark.parametrize('config', [DSN, LITE, STDC1])
def test_every_combination_of_options_gives_the_same_logits(
    repo_root, config, monkeypatch
):
    """All 256 on / off combinations of the switches on SFNet-R18 (with
    deep supervision), SFNet-Lite-R18 and SFNet-STDC1 against the eager
    fp32 model: within 1e-4 of the largest logit."""
    # every eligible conv through NNPACK, whatever is faster here
    monkeypatch.setattr(
        NNPACKConv2d, '_choose', lambda self, x, options: ('nnpack', None)
    )
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{repo_root}/{config}')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    randomise_bn(model)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = model(x, None, mode='tensor')
        limit = 1e-4 * max(1.0, ref.abs().max())
        for values in itertools.product((False, True), repeat=len(SWITCHES)):
            options = AccelerationOptions(**dict(zip(SWITCHES, values)))
            fast = accelerate(copy.deepcopy(model), options)
            inputs = x
            if options.channels_last:
                inputs = x.to(memory_format=torch.channels_last)
            out = fast(inputs, None, mode='tensor')
            assert (out - ref).abs().max() < limit, options
            kinds = {type(m).__name__ for m in fast.modules()}
            assert ('NNPACKConv2d' in kinds) == options.nnpack
            assert ('LowResFusion' in kinds) == options.low_res_fusion
            assert ('FastFlowWarp' in kinds) == (
                options.gather_warp or options.grid_cache
            )
            bns = [m for m in fast.modules() if isinstance(m, _BN)]
            assert (not bns) == options.fold_bn
            assert hasattr(fast.decode_head, 'dsn') == (
                config == DSN and not options.drop_training
            )
            if config == DSN:  # ResNet's stem pool
                assert ('SeparableMaxPool2d' in kinds) == (
                    options.separable_max_pool
                )
            assert fast.acceleration is options


def test_fold_skips_bn_whose_wiring_is_not_certain():
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


def test_the_paper_modules_know_nothing_of_it():
    """The paper's files import nothing from the acceleration package,
    and the heads and FAMs hold no acceleration state."""
    import inspect

    import sfseg.models as models

    for module in (
        models.layers.fam,
        models.layers.gdfam,
        models.layers.ppm,
        models.layers.flow_warp,
        models.decode_heads.sf_head,
        models.decode_heads.sf_lite_head,
        models.necks.sf_neck,
        models.necks.sf_lite_neck,
    ):
        source = inspect.getsource(module)
        assert 'acceleration' not in source, module.__name__
        assert 'is_tracing' not in source, module.__name__
