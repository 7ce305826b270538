import os.path as osp
import sys

import onnx
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'deployment'))

import pytorch2onnx as p2o  # noqa: E402

LITE = osp.join(
    REPO,
    'configs',
    'sfnet_lite',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
)
SFNET = osp.join(
    REPO, 'configs', 'sfnet', 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
)


@pytest.mark.parametrize('config', [LITE, SFNET], ids=['lite', 'sfnet'])
def test_dynamic_export_is_correct_at_other_sizes(config, tmp_path):
    torch.manual_seed(0)
    model = p2o.build_model(config)
    out = str(tmp_path / 'model.onnx')
    wrapper = p2o.export(model, out, (64, 128), opset=17)
    ops = {node.op_type for node in onnx.load(out).graph.node}
    assert 'GridSample' in ops
    diffs = p2o.verify(wrapper, out, [(64, 128), (96, 160)])
    assert max(diffs.values()) < 1e-4
    assert not model.training  # the exporter must not flip train mode


def test_argmax_output_and_cli(tmp_path, capsys):
    out = str(tmp_path / 'labels.onnx')
    p2o.main(
        [LITE, '--output', out, '--shape', '64', '128', '--argmax', '--verify']
    )
    text = capsys.readouterr().out
    for runtime in ('onnxruntime', 'openvino'):
        assert f'verify {runtime} 64x128: pixels disagreeing 0.00e+00' in text
        assert f'verify {runtime} 96x192' in text
    import onnxruntime as ort

    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (labels,) = session.run(
        None, {'input': torch.randn(1, 3, 96, 160).numpy()}
    )
    assert labels.shape == (1, 96, 160) and labels.max() < 19


def test_refuses_opset_without_gridsample(tmp_path):
    model = p2o.build_model(LITE)
    with pytest.raises(ValueError, match='no GridSample'):
        p2o.export(model, str(tmp_path / 'm.onnx'), (64, 128), opset=13)
    with pytest.raises(SystemExit, match='multiple of 32'):
        p2o.main(
            [
                LITE,
                '--output',
                str(tmp_path / 'x.onnx'),
                '--shape',
                '60',
                '128',
            ]
        )


@pytest.mark.parametrize('mode', ['dynamic', 'static'])
def test_int8_quantisation(mode, tmp_path):
    import numpy as np
    import onnxruntime as ort

    torch.manual_seed(0)
    model = p2o.build_model(LITE)
    fp32 = str(tmp_path / 'm.onnx')
    int8 = str(tmp_path / 'm.int8.onnx')
    p2o.export(model, fp32, (64, 128), opset=17)
    calib = p2o.calibration_inputs(model, None, (64, 128), count=2)
    p2o.quantize(fp32, int8, mode, calib)
    ops = {node.op_type for node in onnx.load(int8).graph.node}
    assert ops & {'QuantizeLinear', 'DynamicQuantizeLinear', 'ConvInteger'}
    x = calib[0]
    ref = ort.InferenceSession(fp32).run(None, {'input': x})[0]
    out = ort.InferenceSession(int8).run(None, {'input': x})[0]
    assert out.shape == ref.shape
    # int8 changes values, but the logits must stay strongly correlated
    corr = np.corrcoef(out.ravel(), ref.ravel())[0, 1]
    assert corr > 0.9, corr


def test_calibration_images_are_normalised(toy_city):
    import os.path as osp

    model = p2o.build_model(LITE)
    folder = osp.join(toy_city, 'leftImg8bit', 'train', 'toytown')
    arrays = p2o.calibration_inputs(model, folder, (64, 128), count=3)
    assert len(arrays) == 3 and arrays[0].shape == (1, 3, 64, 128)
    assert -3 < float(arrays[0].mean()) < 3
    with pytest.raises(FileNotFoundError, match='no calibration images'):
        p2o.calibration_inputs(model, osp.dirname(folder), (64, 128))


def test_cli_writes_int8_model(toy_city, tmp_path, capsys):
    import os.path as osp

    out = str(tmp_path / 'm.onnx')
    calib = osp.join(toy_city, 'leftImg8bit', 'val', 'toytown')
    p2o.main(
        [
            LITE,
            '--output',
            out,
            '--shape',
            '64',
            '128',
            '--quantize',
            'static',
            '--calib-dir',
            calib,
        ]
    )
    assert 'int8 (static) model written to' in capsys.readouterr().out
    assert osp.isfile(str(tmp_path / 'm.int8.onnx'))
