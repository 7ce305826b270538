import os
import os.path as osp

import onnx
import pytest
import torch
from common import REPO
from tool_loader import load_tool

p2o = load_tool('tools/deployment/pytorch2onnx.py')

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
    wrapper = p2o.export_network(model, out, (64, 128), opset=17)
    ops = {node.op_type for node in onnx.load(out).graph.node}
    assert 'GridSample' in ops
    diffs = p2o.verify(wrapper, out, [(64, 128), (96, 160)])
    assert max(diffs.values()) < 1e-4
    assert not model.training  # the exporter must not flip train mode
    kinds = {type(m).__name__ for m in model.modules()}
    assert 'FastFlowWarp' not in kinds  # a copy was prepared, not model


@pytest.mark.openvino
def test_argmax_output_and_cli(tmp_path, capsys):
    out = str(tmp_path / 'labels.onnx')
    torch.manual_seed(0)  # the tool's random weights: the same on any run
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
        p2o.export_network(
            model, str(tmp_path / 'm.onnx'), (64, 128), opset=13
        )
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
    p2o.export_network(model, fp32, (64, 128), opset=17)
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
    # as the model's data preprocessor: BGR -> RGB, ImageNet mean / std
    import mmcv
    import numpy as np

    first = sorted(os.listdir(folder))[0]
    bgr = mmcv.imresize(mmcv.imread(osp.join(folder, first)), (128, 64))
    mean = np.array([123.675, 116.28, 103.53], np.float32)
    std = np.array([58.395, 57.12, 57.375], np.float32)
    want = ((bgr[..., ::-1] - mean) / std).transpose(2, 0, 1)[None]
    np.testing.assert_allclose(arrays[0], want, atol=1e-5)
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
