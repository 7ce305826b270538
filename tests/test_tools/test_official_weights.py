"""An official SFSegNets file works wherever an sfseg checkpoint does:
the inference API, the inferencer, segment.py, pytorch2onnx.py, the test
tool (``mim test``) and ``load_from`` give exactly what the converted
file gives, and a file of another family is refused naming both."""

import glob
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch
from common import REPO
from tool_loader import load_tool

from sfseg.models.official import convert as conv
from sfseg.official_checks import official_layouts
from sfseg.official_checks.official_layouts import OFFICIAL_KEYS, save_released
from sfseg.utils import CheckpointMismatchError

KEYS = OFFICIAL_KEYS
# SFNet-Lite-R18 with 19 classes: an official sfnet_lite_r18 file fits
CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)


def runnable_state(family):
    return official_layouts.runnable_state(KEYS, family)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('official_weights')
    official = str(tmp / 'sfnet_lite_r18_official.pth')
    save_released(runnable_state('sfnet_lite_r18'), official)
    converted = str(tmp / 'sfnet_lite_r18_sfseg.pth')
    conv.convert(official, converted)
    other = str(tmp / 'sfnet_r18_official.pth')
    save_released(runnable_state('sfnet_r18'), other)
    return dict(official=official, converted=converted, other=other)


@pytest.fixture(scope='module')
def image(toy_city):
    pattern = osp.join(toy_city, 'leftImg8bit', 'val', '*', '*.png')
    return sorted(glob.glob(pattern))[0]


def test_inference_api_and_inferencer(files, image):
    from mmseg.apis import inference_model

    from sfseg.apis import SFSegInferencer, init_model

    logits = [
        inference_model(init_model(CFG, files[k]), image).seg_logits.data
        for k in ('official', 'converted')
    ]
    assert torch.equal(*logits)
    assert logits[0].abs().max() > 0
    preds = [
        SFSegInferencer(CFG, files[k])(image, return_datasamples=True)
        for k in ('official', 'converted')
    ]
    assert torch.equal(preds[0].pred_sem_seg.data, preds[1].pred_sem_seg.data)


def test_segment_tool(files, image, tmp_path):
    main = load_tool('tools/segment.py').main
    stem = osp.splitext(osp.basename(image))[0]
    labels = []
    for kind in ('official', 'converted'):
        out = tmp_path / kind
        main([image, CFG, files[kind], '--out-dir', str(out)])
        labels.append(
            cv2.imread(
                str(out / 'pred' / f'{stem}_pred.png'), cv2.IMREAD_UNCHANGED
            )
        )
    assert np.array_equal(*labels)


def test_pytorch2onnx_tool(files, tmp_path):
    import onnxruntime as ort

    main = load_tool('tools/deployment/pytorch2onnx.py').main
    x = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(0))
    outputs = []
    for kind in ('official', 'converted'):
        onnx = str(tmp_path / f'{kind}.onnx')
        main([CFG, files[kind], '--output', onnx, '--shape', '64', '128'])
        session = ort.InferenceSession(
            onnx, providers=['CPUExecutionProvider']
        )
        outputs.append(session.run(None, {'input': x.numpy()})[0])
    assert np.array_equal(*outputs)


def run_test_tool(*argv):
    """tools/test.py in-process, as ``mim test sfseg`` runs it."""
    from mmengine.registry import DefaultScope

    old = sys.argv
    sys.argv = ['test.py', *argv]
    with DefaultScope.overwrite_default_scope('mmseg'):
        try:
            runpy.run_path(
                osp.join(REPO, 'tools', 'test.py'), run_name='__main__'
            )
        finally:
            sys.argv = old


def test_test_tool(files, toy_city, tmp_path):
    labels = []
    for kind in ('official', 'converted'):
        out = tmp_path / f'{kind}_pred'
        run_test_tool(
            CFG,
            files[kind],
            '--work-dir',
            str(tmp_path / kind),
            '--out',
            str(out),
            '--data-root',
            toy_city,
            # no worker forked from this process, which holds the runtimes
            # and compiled code of the tests before it
            '--cfg-options',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False',
        )
        pngs = sorted(out.glob('**/*.png'))
        assert len(pngs) == 2  # the toy test set
        labels.append([cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in pngs])
    assert all(np.array_equal(a, b) for a, b in zip(*labels))


def runner_after_load_from(checkpoint, work_dir, **options):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from sfseg.engine import load_runner_config

    cfg = load_runner_config(CFG, options, work_dir=str(work_dir))
    cfg.load_from = checkpoint
    with DefaultScope.overwrite_default_scope('mmseg'):
        runner = Runner.from_cfg(cfg)
        runner.load_or_resume()
    return runner


def test_load_from(files, tmp_path):
    states = [
        runner_after_load_from(files[k], tmp_path / k).model.state_dict()
        for k in ('official', 'converted')
    ]
    assert states[0].keys() == states[1].keys()
    for key, value in states[1].items():
        assert torch.equal(states[0][key], value), key


def test_fine_tuning_to_other_classes(files, tmp_path):
    """load_from into the same family with 5 classes: every tensor but
    the classifier from the official file (mmengine's non-strict load)."""
    runner = runner_after_load_from(
        files['official'],
        tmp_path,
        **{'model.decode_head.num_classes': 5},
    )
    tuned = runner.model.state_dict()
    official = torch.load(files['converted'], weights_only=True)
    official = official['state_dict']
    assert tuned['decode_head.conv_seg.weight'].shape[0] == 5
    for key, value in official.items():
        if not key.startswith('decode_head.conv_seg.'):
            assert torch.equal(tuned[key], value), key


def test_load_from_of_another_family_names_both(files, tmp_path):
    with pytest.raises(
        CheckpointMismatchError,
        match='sfnet_r18_official.pth does not fit the model: an official '
        'SFSegNets sfnet_r18 file, but the config builds sfnet_lite_r18; '
        'use it with configs/sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-'
        r'1024x1024.py or another sfnet_r18 config',
    ):
        runner_after_load_from(files['other'], tmp_path)


@pytest.mark.parametrize('tool', ['segment', 'pytorch2onnx'])
def test_tools_refuse_another_family(tool, files, image, tmp_path):
    out = tmp_path / 'out'
    argv = {
        'segment': [image, CFG, files['other'], '--out-dir', str(out)],
        'pytorch2onnx': [CFG, files['other'], '--output', f'{out}.onnx'],
    }[tool]
    path = {
        'segment': 'tools/segment.py',
        'pytorch2onnx': 'tools/deployment/pytorch2onnx.py',
    }[tool]
    with pytest.raises(
        CheckpointMismatchError,
        match='an official SFSegNets sfnet_r18 file, but the config builds '
        'sfnet_lite_r18',
    ):
        load_tool(path).main(argv)
    assert not osp.exists(out) and not osp.exists(f'{out}.onnx')
