import glob
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools'))

from segment import main, segment  # noqa: E402

CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """A checkpoint of the toy model (random weights, mmseg format)."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    model = MODELS.build(Config.fromfile(CFG).model)
    path = str(tmp_path_factory.mktemp('w') / 'toy.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_folder_and_single_image(toy_city, weights, tmp_path):
    folder = osp.join(toy_city, 'leftImg8bit', 'val', 'toytown')
    kind, count = segment(folder, CFG, weights, str(tmp_path / 'f'))
    assert (kind, count) == ('images', 2)
    overlays = sorted(glob.glob(str(tmp_path / 'f' / 'vis' / '*.png')))
    labels = sorted(glob.glob(str(tmp_path / 'f' / 'pred' / '*.png')))
    assert len(overlays) == 2 and len(labels) == 2
    assert cv2.imread(overlays[0]).shape == (64, 128, 3)
    one = sorted(glob.glob(osp.join(folder, '*.png')))[0]
    assert segment(one, CFG, weights, str(tmp_path / 's')) == ('images', 1)


def test_video(toy_city, weights, tmp_path):
    frames = sorted(
        glob.glob(osp.join(toy_city, 'leftImg8bit', '*', '*', '*.png'))
    )[:4]
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(
        video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (128, 64)
    )
    for f in frames:
        writer.write(cv2.imread(f))
    writer.release()
    kind, count = segment(video, CFG, weights, str(tmp_path / 'v'))
    assert (kind, count) == ('video', 4)
    reader = cv2.VideoCapture(str(tmp_path / 'v' / 'clip_overlay.mp4'))
    read = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        read.append(frame)
    assert len(read) == 4 and read[0].shape == (64, 128, 3)
    assert np.std(read[0]) > 5


def test_bad_inputs(tmp_path, weights):
    with pytest.raises(FileNotFoundError, match='input not found: .*nope'):
        main(
            [
                str(tmp_path / 'nope.png'),
                CFG,
                weights,
                '--out-dir',
                str(tmp_path),
            ]
        )
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no images .* in folder'):
        segment(str(empty), CFG, weights, str(tmp_path / 'o'))
