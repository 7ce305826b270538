"""``AccelerationOptions(compile=True)``: the network compiled after
folding and layout, the logits of the uncompiled model, one graph per
input size up to ``compile_sizes``, inference only."""

import copy
import os.path as osp

import pytest
import torch
from common import CONFIGS
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch._dynamo.utils import counters

from sfseg.acceleration import AccelerationOptions, accelerate

LITE = osp.join(
    CONFIGS,
    'sfnet_lite',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
)


def lite_model():
    cfg = Config.fromfile(LITE)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 1)
    return model.eval()


def predict(model, size):
    inputs = torch.randn(
        1, 3, *size, generator=torch.Generator().manual_seed(1)
    )
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
    with torch.no_grad():
        return model.encode_decode(inputs, [sample.metainfo])


@pytest.fixture
def eager_backend(monkeypatch):
    """torch.compile with dynamo's graphs on eager kernels (the size
    logic without Inductor's compile time)."""
    compile_ = torch.compile

    def fake(fn, **kwargs):
        kwargs.pop('options', None)
        return compile_(fn, backend='eager', **kwargs)

    monkeypatch.setattr(torch, 'compile', fake)


def test_inductor_logits_equal_the_fast_paths():
    plain = lite_model()
    compiled = copy.deepcopy(plain)
    base = AccelerationOptions(channels_last=True)
    accelerate(plain, base)
    accelerate(compiled, AccelerationOptions(channels_last=True, compile=True))
    torch._dynamo.reset()
    expected = predict(plain, (64, 128))
    got = predict(compiled, (64, 128))
    assert compiled.compiled_network.sizes == {(1, 3, 64, 128)}
    scale = expected.abs().max()
    assert (got - expected).abs().max() / scale < 1e-4


def test_one_graph_per_size_up_to_the_bound(eager_backend):
    model = lite_model()
    options = AccelerationOptions(channels_last=True, compile=True)
    accelerate(model, AccelerationOptions(**{
        **options.__dict__, 'compile_sizes': 2}))  # fmt: skip
    torch._dynamo.reset()
    counters.clear()
    network = model.compiled_network
    predict(model, (64, 128))
    predict(model, (64, 128))
    assert counters['frames']['ok'] == 1  # compiled once for the size
    predict(model, (32, 64))
    assert counters['frames']['ok'] == 2
    predict(model, (64, 64))  # past the bound: uncompiled
    assert counters['frames']['ok'] == 2
    assert network.sizes == {(1, 3, 64, 128), (1, 3, 32, 64)}
    # with autograd on: uncompiled, gradients flow
    inputs = torch.randn(1, 3, 32, 64, requires_grad=True)
    network(inputs).sum().backward()
    assert inputs.grad is not None and counters['frames']['ok'] == 2


def test_bound_above_dynamos_limit_refused():
    import torch._dynamo.config as dynamo_config

    limit = dynamo_config.recompile_limit
    options = AccelerationOptions(compile=True, compile_sizes=limit + 1)
    with pytest.raises(ValueError, match="exceeds dynamo's recompile_limit"):
        accelerate(lite_model(), options)


@pytest.mark.parametrize('device, options', [('cpu', {'freezing': True}),
                                             ('meta', None)])  # fmt: skip
def test_freezing_on_a_cpu_only(monkeypatch, device, options):
    """Inductor's freezing (weights as constants) for CPU models; any
    other device (a GPU; here 'meta') compiles without it."""
    from sfseg.acceleration import CompiledNetwork

    seen = {}
    monkeypatch.setattr(torch, 'compile', lambda fn, **kw: seen.update(kw))
    model = torch.nn.Conv2d(3, 3, 1, device=device)
    CompiledNetwork(model, AccelerationOptions(compile=True))
    assert seen == dict(dynamic=False, mode=None, options=options)


def test_compile_mode_on_a_gpu_only(monkeypatch):
    """``compile_mode`` ('reduce-overhead': CUDA graphs) reaches
    torch.compile for a GPU model (here 'meta'); a CPU model refuses it."""
    from sfseg.acceleration import CompiledNetwork

    seen = {}
    monkeypatch.setattr(torch, 'compile', lambda fn, **kw: seen.update(kw))
    options = AccelerationOptions(compile=True, compile_mode='reduce-overhead')
    CompiledNetwork(torch.nn.Conv2d(3, 3, 1, device='meta'), options)
    assert seen == dict(dynamic=False, mode='reduce-overhead', options=None)
    with pytest.raises(ValueError, match="'reduce-overhead' is for a GPU"):
        CompiledNetwork(torch.nn.Conv2d(3, 3, 1), options)
