import os.path as osp

import numpy as np
import pytest
from common import REPO
from PIL import Image
from tool_loader import load_tool

_tool = load_tool('tools/analysis_tools/visualize_flow.py')
main, make_figure, visualize = _tool.main, _tool.make_figure, _tool.visualize

CONFIGS = {
    'sfnet': (
        'configs/sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
        3,
    ),
    'lite': ('configs/toy/sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py', 2),
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
    assert figure.shape[1] == 1000 and figure.shape[0] == 280 * (1 + flows)
    assert figure.std() > 10  # not a blank canvas
    assert len(np.unique(figure.reshape(-1, 3), axis=0)) > 100


def test_missing_image_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='image not found: .*nope'):
        main([str(tmp_path / 'nope.png'), CONFIGS['lite'][0]])


def test_every_title_stays_inside_the_figure():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 128, 3), np.uint8)
    names = [
        'decode_head.fpn.fpn_out_align.0',
        'neck.aligned_fpn.very_long_wrapper_name.flow_align_module.gate',
        'x' * 90,
    ]
    records = [
        (name, 'GD-FAM (high)', rng.normal(size=(2, 16, 32))) for name in names
    ]
    fig = make_figure(img, img, records)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    titles = [ax.title for ax in fig.axes if ax.get_title()]
    assert len(titles) == 2 + 2 * len(records)
    for title in titles:
        ext = title.get_window_extent(renderer)
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1, title.get_text()
        assert box.y0 <= ext.y0 and ext.y1 <= box.y1, title.get_text()
    plt.close(fig)
