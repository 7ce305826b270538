"""The official data-protocol transforms, on exact small arrays."""

import numpy as np
import pytest

from sfseg.datasets import (
    SFCenterCropPad,
    SFRandomRescale,
    SFResizeHeight,
    SFScoreAtInputSize,
)


def sample(h, w):
    label = (np.arange(h * w).reshape(h, w) % 7).astype(np.uint8)
    img = np.stack([label * 30] * 3, -1).astype(np.uint8)
    return dict(
        img=img,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_seg_map=label,
        seg_fields=['gt_seg_map'],
    )


@pytest.mark.parametrize('ratio', [0.5, 2.0])
def test_rescale_is_relative_to_each_images_own_size(ratio):
    for h, w in ((64, 128), (30, 40)):  # different sizes, same factor
        out = SFRandomRescale(ratio_range=(ratio, ratio))(sample(h, w))
        assert out['img'].shape[:2] == (int(h * ratio), int(w * ratio))
        assert out['gt_seg_map'].shape == out['img'].shape[:2]
        assert np.allclose(out['scale_factor'], (ratio, ratio), atol=0.02)
        # labels are resized with nearest neighbours: no new values
        assert set(np.unique(out['gt_seg_map'])) <= set(range(7))


def test_rescale_draws_within_range():
    np.random.seed(0)
    heights = {
        SFRandomRescale((0.5, 2.0))(sample(40, 40))['img'].shape[0]
        for _ in range(30)
    }
    assert min(heights) >= 20 and max(heights) <= 80 and len(heights) > 5
    with pytest.raises(ValueError, match='bad ratio_range'):
        SFRandomRescale((2.0, 1.0))


def test_mapillary_eval_protocol_landscape_and_portrait():
    # landscape: height 60 -> 30, width 100 -> 50, centre crop 30x30
    out = SFResizeHeight(30)(sample(60, 100))
    assert out['img'].shape[:2] == (30, 50)
    full = out['gt_seg_map'].copy()
    out = SFCenterCropPad(30)(out)
    assert out['img'].shape[:2] == (30, 30) and out['img_shape'] == (30, 30)
    assert np.array_equal(out['gt_seg_map'], full[:, 10:40])
    # portrait: height 100 -> 30, width 60 -> 18, padded to 30 (6 + 6)
    out = SFCenterCropPad(30)(SFResizeHeight(30)(sample(100, 60)))
    seg = out['gt_seg_map']
    assert seg.shape == (30, 30)
    assert (seg[:, :6] == 255).all() and (seg[:, 24:] == 255).all()
    assert (seg[:, 6:24] < 7).all()
    assert (out['img'][:, :6] == 0).all()
    # the official padding (label 0) on request
    out = SFCenterCropPad(30, seg_pad_val=0)(
        SFResizeHeight(30)(sample(100, 60))
    )
    assert (out['gt_seg_map'][:, :6] == 0).all()


def test_score_at_input_size_moves_ori_shape():
    out = SFScoreAtInputSize()(SFResizeHeight(30)(sample(60, 100)))
    assert out['ori_shape'] == (30, 50) == out['gt_seg_map'].shape


def official_blur(img, sigma):
    from skimage.filters import gaussian

    return (gaussian(img, sigma=sigma, channel_axis=-1) * 255).astype(np.uint8)


def test_gaussian_blur_scipy_backend_is_the_official_code():
    from sfseg.datasets import SFGaussianBlur

    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    for seed in (0, 1, 2):
        np.random.seed(seed)
        sigma = 0.15 + np.random.random() * 1.15
        np.random.seed(seed)
        out = SFGaussianBlur(backend='scipy')(dict(img=img.copy()))['img']
        assert np.array_equal(out, official_blur(img, sigma))


@pytest.mark.parametrize('sigma', [0.15, 0.2, 0.7, 1.3])
def test_gaussian_blur_opencv_within_one_grey_level(sigma, monkeypatch):
    """The OpenCV filter sums in another order: values within rounding of a
    whole level may truncate differently, by one level, rarely."""
    from sfseg.datasets import SFGaussianBlur

    rng = np.random.default_rng(1)
    cells = rng.integers(0, 256, (8, 8, 3), np.uint8)
    img = np.kron(cells, np.ones((32, 32, 1), np.uint8))  # flat regions
    img[::3] += rng.integers(0, 8, img[::3].shape, np.uint8)
    value = (sigma - 0.15) / 1.15
    monkeypatch.setattr(np.random, 'random', lambda: value)
    out = SFGaussianBlur()(dict(img=img.copy()))['img']
    diff = np.abs(out.astype(int) - official_blur(img, sigma))
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.01  # 0.4 % at sigma 0.15, flat regions
    with pytest.raises(ValueError, match="'cv2' or 'scipy'"):
        SFGaussianBlur(backend='skimage')


def official_jitter(img, draws):
    """The official ColorJitter's steps (torchvision's PIL adjust_*) for
    ``draws`` = [(kind, factor)] in order, on an RGB array."""
    from PIL import Image, ImageEnhance

    pil = Image.fromarray(img)
    for kind, factor in draws:
        if kind == 'hue':
            h, s, v = pil.convert('HSV').split()
            h = np.array(h, np.uint8)
            with np.errstate(over='ignore'):
                h += np.uint8(int(factor * 255) % 256)
            pil = Image.merge('HSV', (Image.fromarray(h, 'L'), s, v))
            pil = pil.convert('RGB')
        else:
            enhance = dict(
                brightness=ImageEnhance.Brightness,
                contrast=ImageEnhance.Contrast,
                saturation=ImageEnhance.Color,
            )[kind]
            pil = enhance(pil).enhance(factor)
    return np.asarray(pil)


def test_color_jitter_equals_the_official_steps_and_draws():
    """Same seed, same factors in the same order as the official
    get_params (4 uniforms, then np.random.shuffle), same bytes."""
    from sfseg.datasets import SFColorJitter

    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (48, 64, 3), np.uint8)
    img[:16] = img[:16] // 8  # dark and
    img[-16:] = 255 - img[-16:] // 8  # bright rows clip when scaled
    jitter = SFColorJitter()
    orders = set()
    for seed in range(12):
        np.random.seed(seed)
        draws = jitter.draw()
        np.random.seed(seed)
        factors = [np.random.uniform(0.75, 1.25) for _ in range(3)]
        factors.append(np.random.uniform(-0.25, 0.25))
        assert [f for _, f in sorted(draws)] == [
            factors[i] for i in (0, 1, 3, 2)
        ]  # sorted by name: brightness, contrast, hue, saturation
        orders.add(tuple(kind for kind, _ in draws))
        np.random.seed(seed)
        out = jitter(dict(img=np.ascontiguousarray(img[..., ::-1])))
        assert out['img'].flags.writeable
        want = official_jitter(img, draws)
        assert np.array_equal(out['img'][..., ::-1], want), (seed, draws)
    assert len(orders) > 4


def test_color_jitter_brightness_hue_and_range(monkeypatch):
    from sfseg.datasets import SFColorJitter

    grey = np.full((4, 4, 3), 100, np.uint8)
    seen = set()
    for seed in range(40):
        np.random.seed(seed)
        out = SFColorJitter(0.25, 0, 0, 0)(dict(img=grey.copy()))['img']
        value = int(out[0, 0, 0])
        assert (out == value).all()  # grey stays grey
        assert 75 <= value <= 125  # factor in [0.75, 1.25]
        seen.add(value)
    assert len(seen) > 10
    # hue: half a turn takes pure red (BGR 0, 0, 255) to cyan
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 2] = 255
    monkeypatch.setattr(np.random, 'uniform', lambda low, high: high)
    out = SFColorJitter(0, 0, 0, 0.5)(dict(img=red))['img'][0, 0]
    assert out[2] < 10 and out[0] > 245 and out[1] > 245  # B, G high
    with pytest.raises(ValueError, match='hue must be in'):
        SFColorJitter(hue=0.6)
