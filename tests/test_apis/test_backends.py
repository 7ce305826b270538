"""Every backend and precision of SFSegInferencer against eager fp32, and
--precision auto with the ISA query mocked both ways."""

import numpy as np
import pytest
import torch
from label_margins import assert_labels_where_decided

from sfseg.apis import BACKENDS, SFSegInferencer, resolve_precision
from sfseg.utils import SFSegUserError

TOY = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
SIZES = [(64, 128), (96, 160)]


def scene(seed, size):
    from sfseg.datasets.toy.driving import draw_scene

    rgb = draw_scene(*size, np.random.default_rng(seed))[0]
    return np.ascontiguousarray(rgb[..., ::-1])  # BGR, as cv2 reads


def test_auto_never_picks_a_slower_or_lossy_precision(native):
    native(False)  # AVX2-only: emulated bf16 would be 8-10x slower
    for backend in BACKENDS:
        assert resolve_precision('auto', 'cpu', backend) == 'fp32'
    native(True)
    assert resolve_precision('auto', 'cpu', 'pytorch') == 'bf16'
    assert resolve_precision('auto', 'cpu', 'openvino') == 'bf16'
    assert resolve_precision('auto', 'cpu', 'onnxruntime') == 'fp32'
    for backend in ('onnxruntime', 'openvino'):  # asked for, never auto
        assert resolve_precision('int8', 'cpu', backend) == 'int8'


def test_unsupported_combinations_are_refused(native):
    native(True)
    with pytest.raises(SFSegUserError, match='onnxruntime or openvino'):
        resolve_precision('int8', 'cpu', 'pytorch')
    with pytest.raises(SFSegUserError, match='pytorch or openvino'):
        resolve_precision('bf16', 'cpu', 'onnxruntime')
    with pytest.raises(SFSegUserError, match="got 'tensorrt'"):
        resolve_precision('fp32', 'cpu', 'tensorrt')
    with pytest.raises(SFSegUserError, match='runs on the CPU'):
        resolve_precision('fp32', 'cuda:0', 'openvino')
    native(False)
    with pytest.raises(SFSegUserError, match='Mocked CPU has no native'):
        resolve_precision('bf16', 'cpu', 'openvino')


@pytest.fixture(scope='module')
def eager(toy_ckpt):
    infer = SFSegInferencer(TOY, toy_ckpt, fast=False, show_progress=False)
    return {
        size: infer(scene(0, size), return_datasamples=True) for size in SIZES
    }


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_runtime_fp32_equals_eager_at_two_sizes(backend, toy_ckpt, eager):
    infer = SFSegInferencer(
        TOY, toy_ckpt, backend=backend, precision='fp32', show_progress=False
    )
    assert infer.backend == backend and infer.precision == 'fp32'
    assert infer.model.runtime_network.file.endswith('model.onnx')
    for size in SIZES:
        got = infer(scene(0, size), return_datasamples=True)
        want = eager[size]
        assert got.seg_logits.data.shape == (19, *size)
        share = assert_labels_where_decided(
            want.seg_logits.data[None], got.seg_logits.data[None]
        )
        assert share > 0.99
        assert torch.equal(
            got.pred_sem_seg.data[0], got.seg_logits.data.argmax(0)
        )


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_int8_is_calibrated_and_agrees(backend, toy_ckpt, eager):
    with pytest.raises(SFSegUserError, match='calibration images'):
        SFSegInferencer(TOY, toy_ckpt, backend=backend, precision='int8')
    calib = [scene(seed, SIZES[0]) for seed in (1, 2, 3)]
    infer = SFSegInferencer(
        TOY,
        toy_ckpt,
        backend=backend,
        precision='int8',
        calibration=calib,
        show_progress=False,
    )
    assert infer.model.runtime_network.file.endswith('model.int8.onnx')
    for size in SIZES:
        got = infer(scene(0, size), return_datasamples=True)
        want = eager[size]
        diff = float((got.seg_logits.data - want.seg_logits.data).abs().max())
        agree = float(
            (got.pred_sem_seg.data == want.pred_sem_seg.data).float().mean()
        )
        assert diff > 1e-5  # quantised arithmetic really ran
        assert agree > 0.95


@pytest.mark.openvino
def test_segment_cli_runs_a_backend(toy_ckpt, tmp_path, capsys):
    import cv2
    from tool_loader import load_tool

    main = load_tool('tools/segment.py').main

    folder = tmp_path / 'in'
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f'frame{i}.png'), scene(i, (64, 128)))
    for backend, precision in (('pytorch', 'fp32'), ('openvino', 'int8')):
        out = tmp_path / backend
        argv = [str(folder), TOY, toy_ckpt, '--out-dir', str(out)]
        argv += ['--backend', backend, '--precision', precision]
        assert main(argv) == 0
        printed = capsys.readouterr().out
        assert f'precision {precision} (' in printed
        assert f'{backend} backend' in printed
    for i in range(2):
        ref = cv2.imread(
            str(tmp_path / 'pytorch' / 'pred' / f'frame{i}_pred.png'), 0
        )
        got = cv2.imread(
            str(tmp_path / 'openvino' / 'pred' / f'frame{i}_pred.png'), 0
        )
        assert ref.shape == got.shape == (64, 128)
        assert (ref == got).mean() > 0.95


def test_segment_refuses_int8_in_pytorch_before_reading(tmp_path, monkeypatch):
    from sfseg.apis import segment_files

    def fail(*args, **kwargs):
        raise AssertionError('images read before the precision was checked')

    monkeypatch.setattr(segment_files, 'calibration_images', fail)
    (tmp_path / 'a.png').write_bytes(b'')
    with pytest.raises(SFSegUserError, match='use --backend onnxruntime'):
        segment_files.segment(
            str(tmp_path), TOY, 'x.pth', str(tmp_path / 'o'), precision='int8'
        )
