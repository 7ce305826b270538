"""--precision auto never picks a path slower than fp32 (ISA mocked)."""

import re

import numpy as np
import pytest
import torch

from sfseg.acceleration.layout_tuner import SCHEDULE
from sfseg.apis import SFSegInferencer, resolve_precision
from sfseg.utils import SFSegUserError

TOY = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'


def test_auto_follows_the_isa(native):
    native(True)
    assert resolve_precision('auto') == 'bf16'
    assert resolve_precision('fp32') == 'fp32'
    assert resolve_precision('bf16') == 'bf16'
    native(False)
    assert resolve_precision('auto') == 'fp32'  # emulated bf16 is slower
    with pytest.raises(SFSegUserError, match='Mocked CPU has no native bf16'):
        resolve_precision('bf16')
    with pytest.raises(SFSegUserError, match="got 'int4'"):
        resolve_precision('int4')


def test_inferencer_runs_the_chosen_precision(native, toy_ckpt):
    img = (np.random.RandomState(0).rand(64, 128, 3) * 255).astype(np.uint8)
    native(False)
    fp32 = SFSegInferencer(TOY, toy_ckpt, precision='auto')
    assert fp32.precision == 'fp32'
    want = fp32(img, return_datasamples=True).seg_logits.data
    native(True)
    bf16 = SFSegInferencer(TOY, toy_ckpt, precision='auto')
    assert bf16.precision == 'bf16'
    scale = float(want.abs().max())
    # every call the layout tuner makes of one size, and the chosen layout
    for _ in range(len(SCHEDULE) + 1):
        got = bf16(img, return_datasamples=True).seg_logits.data
        assert got.dtype == torch.float32 and got.shape == want.shape
        assert 0 < float((got - want).abs().max()) < 0.1 * scale  # bf16 ran
    ((shape, times),) = bf16.model.layout_tuner.timings.items()
    assert set(times) == {'channels_last', 'nchw'}


def test_segment_prints_the_precision_and_cpu(native, toy_ckpt, tmp_path):
    import cv2

    from sfseg.apis.segment_files import segment, summary

    native(False)
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, np.full((64, 128, 3), 100, np.uint8))
    report = segment(path, TOY, toy_ckpt, str(tmp_path / 'o'))
    assert report.precision == 'fp32'
    assert any(
        line.startswith('precision fp32 (Mocked CPU')
        for line in summary(report, 'o')
    )


# SFNet (FAM at three levels, PPM) and SFNet-Lite (GD-FAM) on two backbones
BF16_MODELS = [
    'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024.py',
    TOY,
]


@pytest.mark.parametrize('config', BF16_MODELS)
def test_bf16_model_in_every_layout_the_tuner_tries(config, tmp_path):
    """Plain and fast models under bf16 autocast: every call of the layout
    tuner (channels-last with the gather warp, NCHW with grid_sample and
    NNPACK timing, then the chosen one) runs and agrees with fp32."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from sfseg.apis import init_model
    from sfseg.utils import resolve_config

    torch.manual_seed(0)
    built = MODELS.build(Config.fromfile(resolve_config(config)).model)
    ckpt = str(tmp_path / 'random.pth')
    torch.save({'state_dict': built.state_dict(), 'meta': {}}, ckpt)
    plain = init_model(config, ckpt, fast=False)
    fast = init_model(config, ckpt)
    x = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(1))
    metas = [dict(img_shape=(64, 128), ori_shape=(64, 128))]

    def labels(model):
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            logits = model.encode_decode(x, metas)
        assert logits.shape == (1, 19, 64, 128)
        return logits.float().argmax(1)

    with torch.no_grad():
        want = plain.encode_decode(x, metas).argmax(1)
    assert (labels(plain) == want).float().mean() > 0.97
    tuner = fast.layout_tuner
    for _ in range(len(SCHEDULE) + 1):
        assert (labels(fast) == want).float().mean() > 0.97
    ((shape, times),) = tuner.timings.items()
    assert set(times) == {'channels_last', 'nchw'}
    assert tuner.choice[shape] in times


@pytest.fixture
def gpu(monkeypatch):
    """A mocked CUDA device: ``gpu(name, bf16)``."""

    def make(name, bf16):
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda d: name)
        monkeypatch.setattr(
            torch.cuda,
            'is_bf16_supported',
            # torch counts emulation as support unless told not to
            lambda including_emulation=True: bf16 or including_emulation,
        )

    return make


def test_cuda_auto_is_fp16_and_bf16_only_where_supported(gpu):
    from sfseg.engine import amp_dtype

    gpu('NVIDIA H100 80GB HBM3', True)
    assert resolve_precision('auto', 'cuda:0') == 'fp16'
    assert resolve_precision('bf16', 'cuda:0') == 'bf16'
    assert resolve_precision('fp32', 'cuda') == 'fp32'
    assert amp_dtype('cuda:1') == 'float16'
    gpu('Tesla V100-SXM2-32GB', False)
    assert resolve_precision('auto', 'cuda') == 'fp16'
    assert resolve_precision('fp16', 'cuda') == 'fp16'
    with pytest.raises(
        SFSegUserError, match='Tesla V100-SXM2-32GB has no bf16'
    ):
        resolve_precision('bf16', 'cuda')
    with pytest.raises(SFSegUserError, match='int8 does not run on Tesla'):
        resolve_precision('int8', 'cuda')
    with pytest.raises(SFSegUserError, match='runs on the CPU here'):
        resolve_precision('fp32', 'cuda', 'onnxruntime')


@pytest.mark.parametrize('build', [None, '13.0'])
def test_cuda_without_a_gpu_is_refused_clearly(build, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.version, 'cuda', build)
    seen = '(CUDA 13.0) sees no GPU' if build else 'has no CUDA'
    for precision in ('auto', 'fp16', 'fp32'):
        with pytest.raises(SFSegUserError, match=re.escape(seen)) as err:
            resolve_precision(precision, 'cuda:0')
        assert '--device cuda:0' in str(err.value)
        assert 'use --device cpu' in str(err.value)


def test_fp16_and_amp_on_the_cpu(native):
    from sfseg.acceleration import autocast_for
    from sfseg.engine import amp_dtype

    with pytest.raises(SFSegUserError, match='fp16 runs on CUDA devices'):
        resolve_precision('fp16')
    native(True)
    assert amp_dtype('cpu') == 'bfloat16'
    native(False)
    with pytest.raises(SFSegUserError, match='--amp on Mocked CPU'):
        amp_dtype('cpu')
    with autocast_for('fp16', 'cpu'):
        assert torch.get_autocast_dtype('cpu') == torch.float16
    with autocast_for('bf16', 'cpu'):
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
