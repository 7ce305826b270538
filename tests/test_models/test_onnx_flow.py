"""Exported FAM / GD-FAM stay correct at sizes other than the traced one."""

import numpy as np
import pytest
import torch

from sfseg.models.layers import FAM, GDFAM

ort = pytest.importorskip('onnxruntime')


def export(module, path, dynamo):
    low, high = torch.randn(1, 8, 16, 32), torch.randn(1, 8, 8, 16)
    if dynamo:
        from torch.export import Dim

        h, w = Dim('h', min=2, max=256), Dim('w', min=2, max=256)
        torch.onnx.export(
            module,
            (low, high),
            path,
            input_names=['low', 'high'],
            dynamo=True,
            dynamic_shapes={
                'low': {2: 2 * h, 3: 2 * w},
                'high': {2: h, 3: w},
            },
            opset_version=18,
            verbose=False,
        )
    else:
        torch.onnx.export(
            module,
            (low, high),
            path,
            input_names=['low', 'high'],
            output_names=['out'],
            dynamo=False,
            opset_version=16,
            dynamic_axes={
                'low': {2: 'h', 3: 'w'},
                'high': {2: 'h2', 3: 'w2'},
            },
        )
    return ort.InferenceSession(path, providers=['CPUExecutionProvider'])


@pytest.mark.parametrize(
    'cls,dynamo', [(FAM, False), (GDFAM, False), (GDFAM, True)]
)
def test_export_correct_at_two_sizes(cls, dynamo, tmp_path):
    torch.manual_seed(0)
    module = cls(8).eval()
    torch.nn.init.normal_(module.flow_make.weight, std=0.5)  # real flows
    session = export(module, str(tmp_path / 'm.onnx'), dynamo)
    for h, w in [(16, 32), (24, 40)]:
        low, high = torch.randn(1, 8, h, w), torch.randn(1, 8, h // 2, w // 2)
        (out,) = session.run(None, {'low': low.numpy(), 'high': high.numpy()})
        with torch.no_grad():
            ref = module(low, high).numpy()
        assert out.shape == ref.shape
        assert np.abs(out - ref).max() < 1e-4
