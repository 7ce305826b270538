import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))

from visualize_flow import main, visualize  # noqa: E402

CONFIGS = {
    'sfnet': (
        'configs/sfnet/sfnet_r18-d32_8xb2-50k_cityscapes-1024x1024.py',
        3,
    ),
    'lite': ('configs/toy/sfnet-lite_r18-d32_1xb4-600_toy-city-128x256.py', 2),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_flow_figure(name, toy_city, tmp_path):
    config, flows = CONFIGS[name]
    img = osp.join(
        toy_city,
        'leftImg8bit',
        'test',
        'toytown',
        'toytown_000000_000010_leftImg8bit.png',
    )
    out = str(tmp_path / 'flows.png')
    assert visualize(img, osp.join(REPO, config), out_file=out) == flows
    figure = np.asarray(Image.open(out).convert('RGB'))
    # image/prediction row + one row per flow field, two panels wide
    assert figure.shape[1] == 1000 and figure.shape[0] == 260 * (1 + flows)
    assert figure.std() > 10  # not a blank canvas
    assert len(np.unique(figure.reshape(-1, 3), axis=0)) > 100


def test_missing_image_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='image not found: .*nope'):
        main([str(tmp_path / 'nope.png'), CONFIGS['lite'][0]])
