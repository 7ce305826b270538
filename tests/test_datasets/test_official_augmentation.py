"""The official RandomSizeAndCrop as SFRandomRescale + SFCentroidCrop:
sizes, interpolation, padding, the centroid draw, bad input."""

import numpy as np
import pytest
from PIL import Image

from sfseg.datasets import SFCentroidCrop, SFRandomRescale


def sample(h, w, centroid=None, seed=0):
    rng = np.random.RandomState(seed)
    results = dict(
        img=rng.randint(0, 256, (h, w, 3), dtype=np.uint8),
        gt_seg_map=rng.randint(0, 19, (h, w)).astype(np.uint8),
        seg_fields=['gt_seg_map'],
        img_path='x.png',
    )
    if centroid is not None:
        results['centroid'] = centroid
    return results


@pytest.mark.parametrize('scale', [0.537, 1.0, 1.913])
def test_rescale_is_the_official_pil_resize(scale):
    data = sample(37, 53, centroid=(20, 11))
    img, seg = data['img'].copy(), data['gt_seg_map'].copy()
    out = SFRandomRescale(ratio_range=(scale, scale))(data)
    size = (int(53 * scale), int(37 * scale))  # truncated, not rounded
    want = np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
    assert np.array_equal(out['img'], want)
    want = np.asarray(Image.fromarray(seg).resize(size, Image.NEAREST))
    assert np.array_equal(out['gt_seg_map'], want)
    assert set(np.unique(out['gt_seg_map'])) <= set(np.unique(seg))
    assert out['img_shape'] == (size[1], size[0])
    assert out['crop_centroid'] == (int(20 * scale), int(11 * scale))


def test_padding_both_sides_with_zero_and_ignore():
    data = sample(10, 30)
    img = data['img'].copy()
    crop = SFCentroidCrop(crop_size=(16, 16))
    seen_rows = set()
    for seed in range(200):
        np.random.seed(seed)
        out = crop(sample(10, 30))
        assert out['img'].shape == (16, 16, 3)
        assert out['gt_seg_map'].shape == (16, 16)
        # padded by (16 - 10) // 2 + 1 = 4 rows above and below: a 18-row
        # image; crop rows start at 0, 1 or 2
        pad_rows = np.where((out['gt_seg_map'] == 255).all(axis=1))[0]
        seen_rows.add(tuple(pad_rows))
        assert (out['img'][pad_rows] == 0).all()
        assert len(pad_rows) == 6  # 4 + 4 padded rows, 2 cropped off
    assert seen_rows == {
        (0, 1, 2, 3, 14, 15),
        (0, 1, 2, 13, 14, 15),
        (0, 1, 12, 13, 14, 15),
    }
    assert img.shape == (10, 30, 3)


def test_no_padding_when_the_image_is_large_enough():
    out = SFCentroidCrop(crop_size=(16, 16))(sample(16, 40))
    assert out['img'].shape == (16, 16, 3)
    assert (out['gt_seg_map'] < 19).all()


def test_centroid_draw_follows_the_official_randint_and_clip():
    crop = SFCentroidCrop(crop_size=(8, 8))
    near_left, middle = [], []
    for seed in range(3000):
        np.random.seed(seed)
        out = crop.crop_bbox(dict(sample(40, 40), crop_centroid=(3, 20)))
        near_left.append(out[2])
        out = crop.crop_bbox(dict(sample(40, 40), crop_centroid=(20, 20)))
        middle.append(out[2])
    near_left, middle = np.array(near_left), np.array(middle)
    # randint(3 - 8, 3) clipped at 0: 6 of 9 values become 0
    assert set(near_left) == {0, 1, 2, 3}
    assert abs((near_left == 0).mean() - 6 / 9) < 0.03
    # in the middle: uniform over [20 - 8, 20], both ends included
    assert set(middle) == set(range(12, 21))
    assert abs((middle == 12).mean() - 1 / 9) < 0.02


def test_centroid_from_scale_factor_without_rescale():
    crop = SFCentroidCrop(crop_size=(8, 8))
    data = dict(sample(40, 40), centroid=(10, 10), scale_factor=(2.0, 2.0))
    for seed in range(50):
        np.random.seed(seed)
        y1, _, x1, _ = crop.crop_bbox(dict(data))
        assert 12 <= x1 <= 20 and 12 <= y1 <= 20


def test_crop_larger_than_the_image_is_refused_without_padding():
    crop = SFCentroidCrop(crop_size=(64, 64), pad_to_crop=False)
    with pytest.raises(ValueError, match=r'crop_size \(64, 64\).*x.png'):
        crop(sample(32, 100))


def test_bad_rescale_arguments():
    with pytest.raises(ValueError, match='ratio_range'):
        SFRandomRescale(ratio_range=(0.0, 2.0))
    with pytest.raises(ValueError, match="'skimage'"):
        SFRandomRescale(backend='skimage')
