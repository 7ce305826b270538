"""--precision auto never picks a path slower than fp32 (ISA mocked)."""

import os.path as osp

import numpy as np
import pytest
import torch

from sfseg.apis import SFSegInferencer, resolve_precision
from sfseg.utils import SFSegUserError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
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
    got = bf16(img, return_datasamples=True).seg_logits.data
    assert got.dtype == torch.float32 and got.shape == want.shape
    scale = float(want.abs().max())
    assert 0 < float((got - want).abs().max()) < 0.1 * scale  # bf16 ran


def test_segment_prints_the_precision_and_cpu(native, toy_ckpt, tmp_path):
    import sys

    import cv2

    sys.path.insert(0, osp.join(REPO, 'tools'))
    from segment import segment, summary

    native(False)
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, np.full((64, 128, 3), 100, np.uint8))
    report = segment(path, TOY, toy_ckpt, str(tmp_path / 'o'))
    assert report.precision == 'fp32'
    assert any(
        line.startswith('precision fp32 (Mocked CPU')
        for line in summary(report, 'o')
    )
