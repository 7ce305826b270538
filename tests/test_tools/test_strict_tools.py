"""Every tool that loads weights for inference or export refuses a
checkpoint that does not fit its config, before writing anything."""

import os.path as osp

import pytest
import torch
from common import REPO
from tool_loader import load_tool

from sfseg.utils import CheckpointMismatchError

TOOLS = {
    'segment': 'tools/segment.py',
    'visualize_flow': 'tools/analysis_tools/visualize_flow.py',
    'pytorch2onnx': 'tools/deployment/pytorch2onnx.py',
}

CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)


@pytest.fixture(scope='module')
def mismatch(tmp_path_factory):
    """A 19-class toy checkpoint and a 5-class toy config."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    tmp = tmp_path_factory.mktemp('strict')
    model = MODELS.build(Config.fromfile(CFG).model)
    ckpt = str(tmp / 'toy19.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    cfg = tmp / 'toy5.py'
    cfg.write_text(
        f'_base_ = {CFG!r}\nmodel = dict(decode_head=dict(num_classes=5))\n'
    )
    img = osp.join(tmp, 'img.png')
    import cv2
    import numpy as np

    cv2.imwrite(img, np.full((64, 128, 3), 90, np.uint8))
    return str(cfg), ckpt, img, tmp


@pytest.mark.parametrize('tool', ['segment', 'visualize_flow', 'pytorch2onnx'])
def test_class_count_mismatch_refused(tool, mismatch):
    cfg, ckpt, img, tmp = mismatch
    out = tmp / f'{tool}_out'
    argv = {
        'segment': [img, cfg, ckpt, '--out-dir', str(out)],
        'visualize_flow': [img, cfg, ckpt, '--out-file', str(out) + '.png'],
        'pytorch2onnx': [cfg, ckpt, '--output', str(out) + '.onnx'],
    }[tool]
    main = load_tool(TOOLS[tool]).main
    with pytest.raises(
        CheckpointMismatchError,
        match='toy19.pth does not fit the model: .*num_classes 5 in the '
        'config, 19 in the checkpoint',
    ):
        main(argv)
    assert not any(osp.exists(str(out) + ext) for ext in ('', '.png', '.onnx'))
