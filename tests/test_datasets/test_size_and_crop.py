"""SFRandomSizeAndCrop: the official RandomSizeAndCrop in one step, the
same draws and bytes as SFRandomRescale + SFCentroidCrop, resizing only
the window it keeps."""

import numpy as np
import pytest
from PIL import Image

from sfseg.datasets import (
    SFCentroidCrop,
    SFRandomRescale,
    SFRandomSizeAndCrop,
)
from sfseg.datasets.transforms.size_and_crop import (
    _pillow_may_go_vertical_first,
    _vertical_first,
    resize_window,
)


def sample(h, w, rng, centroid=None):
    results = dict(
        img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        gt_seg_map=rng.integers(0, 19, (h, w)).astype(np.uint8),
        seg_fields=['gt_seg_map'],
        img_shape=(h, w),
        img_path='x.png',
    )
    if centroid is not None:
        results['centroid'] = centroid
    return results


@pytest.mark.parametrize('interpolation', ['bicubic', 'bilinear'])
def test_window_equals_the_full_pil_resize_cropped(interpolation):
    rng = np.random.default_rng(0)
    resample = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}
    orders = set()
    for _ in range(150):
        h, w = (int(v) for v in rng.integers(6, 120, 2))
        if rng.random() < 0.3:  # tall: Pillow may filter vertically first
            h = int(w * rng.uniform(2.5, 4)) + 3
        scale = rng.uniform(0.3, 2.0)
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        full = np.asarray(
            Image.fromarray(img).resize(size, resample[interpolation])
        )
        x0 = int(rng.integers(0, size[0]))
        x1 = int(rng.integers(x0 + 1, size[0] + 1))
        y0 = int(rng.integers(0, size[1]))
        y1 = int(rng.integers(y0 + 1, size[1] + 1))
        out = resize_window(img, size, (x0, y0, x1, y1), interpolation)
        assert np.array_equal(out, full[y0:y1, x0:x1]), (h, w, size)
        orders.add(_vertical_first(h, w, size[1], size[0]))
    # both of Pillow's pass orders covered (older Pillows have one only)
    assert orders == {False, _pillow_may_go_vertical_first()}


@pytest.mark.parametrize('cat_max_ratio', [1.0, 0.75])
def test_same_draws_and_bytes_as_rescale_then_crop(cat_max_ratio):
    rng = np.random.default_rng(1)
    for trial in range(120):
        h, w = (int(v) for v in rng.integers(8, 150, 2))
        crop = tuple(int(v) for v in rng.integers(4, 110, 2))
        centroid = None
        if trial % 2:
            centroid = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        data = sample(h, w, rng, centroid)
        copy = {k: v.copy() if hasattr(v, 'copy') else v
                for k, v in data.items()}  # fmt: skip
        np.random.seed(trial)
        want = SFCentroidCrop(crop, cat_max_ratio=cat_max_ratio)(
            SFRandomRescale((0.5, 2.0))(data)
        )
        state = np.random.get_state()[1].copy()
        np.random.seed(trial)
        got = SFRandomSizeAndCrop(crop, cat_max_ratio=cat_max_ratio)(copy)
        # the same random numbers were consumed
        assert np.array_equal(np.random.get_state()[1], state)
        assert np.array_equal(got['img'], want['img'])
        assert np.array_equal(got['gt_seg_map'], want['gt_seg_map'])
        for key in ('img_shape', 'scale', 'scale_factor', 'crop_centroid'):
            assert got.get(key) == want.get(key), key


def test_padding_and_full_size_output():
    rng = np.random.default_rng(2)
    np.random.seed(0)
    out = SFRandomSizeAndCrop((64, 64), ratio_range=(0.5, 0.5))(
        sample(40, 100, rng)
    )
    # 20 x 50 after the rescale: padded by 23 rows / 8 columns each side
    assert out['img'].shape == (64, 64, 3)
    label = out['gt_seg_map']
    assert (label[:20] == 255).all() or (label[-20:] == 255).all()
    assert (out['img'][label == 255] == 0).all()
    assert out['scale'] == (50, 20) and out['scale_factor'] == (0.5, 0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match='ratio_range'):
        SFRandomSizeAndCrop((8, 8), ratio_range=(0.0, 2.0))
    with pytest.raises(ValueError, match="not 'nearest'"):
        SFRandomSizeAndCrop((8, 8), interpolation='nearest')
    assert 'ratio_range=(0.5, 2.0)' in repr(SFRandomSizeAndCrop((8, 8)))
