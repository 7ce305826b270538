"""SFOhemCrossEntropy against hand-computed values of the official
algorithm (OhemCrossEntropy2dTensor), and where mmseg's OHEM differs."""

import math

import pytest
import torch
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS

from sfseg.models.losses import SFOhemCrossEntropy

IGNORE = 255


def two_class_logits(p_gt, gt):
    """N x 2 x H x W logits whose softmax gives ``p_gt`` to class ``gt``."""
    p = torch.as_tensor(p_gt, dtype=torch.float64)
    logit = torch.log(p / (1 - p))
    logits = torch.zeros(*p.shape[:1], 2, *p.shape[1:], dtype=torch.float64)
    gt = torch.as_tensor(gt)
    logits[:, 1] = torch.where(gt == 1, logit, -logit)
    return logits


def test_ties_at_the_threshold_are_kept():
    p = [[[0.9, 0.9, 0.9], [0.95, 0.99, 0.5]]]
    label = torch.tensor([[[1, 0, 1], [0, 1, 1]]])
    logits = two_class_logits(p, label)
    loss = SFOhemCrossEntropy(thresh=0.7, min_kept=3)
    # 3rd lowest p_gt is 0.9 > 0.7: threshold 0.9, all three 0.9 kept
    keep = loss.hard_pixels(logits, label)
    assert keep.tolist() == [[[True, True, True], [False, False, True]]]
    expected = -(math.log(0.5) + 3 * math.log(0.9)) / 4
    assert float(loss(logits, label)) == pytest.approx(expected, rel=1e-9)


def test_thresh_wins_when_enough_pixels_are_hard():
    p = [[[0.1, 0.2, 0.6, 0.69, 0.8, 0.99]]]
    label = torch.ones(1, 1, 6, dtype=torch.long)
    loss = SFOhemCrossEntropy(thresh=0.7, min_kept=2)
    expected = -sum(math.log(v) for v in (0.1, 0.2, 0.6, 0.69)) / 4
    value = loss(two_class_logits(p, label), label)
    assert float(value) == pytest.approx(expected, rel=1e-9)


def test_no_mining_when_min_kept_exceeds_the_valid_pixels():
    p = [[[0.9, 0.99, 0.3, 0.8]]]
    label = torch.tensor([[[1, 1, 0, IGNORE]]])
    loss = SFOhemCrossEntropy(thresh=0.7, min_kept=4)  # 3 valid pixels
    expected = -(math.log(0.9) + math.log(0.99) + math.log(0.3)) / 3
    value = loss(two_class_logits(p, label), label)
    assert float(value) == pytest.approx(expected, rel=1e-9)


def test_all_pixels_ignored_gives_zero_and_no_gradient():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    label = torch.full((2, 4, 4), IGNORE)
    value = SFOhemCrossEntropy(min_kept=1)(logits, label)
    value.backward()
    assert float(value) == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_batch_of_two_official_vs_mmseg_ohem():
    """min_kept counts per process here, per image in mmseg; mmseg also
    averages over every valid pixel."""
    from mmseg.models.decode_heads import FCNHead
    from mmseg.structures.sampler import OHEMPixelSampler

    p = [[[0.75, 0.8, 0.9, 0.95]], [[0.85, 0.9, 0.97, 0.99]]]
    label = torch.ones(2, 1, 4, dtype=torch.long)
    logits = two_class_logits(p, label)
    ours = SFOhemCrossEntropy(thresh=0.7, min_kept=2)(logits, label)
    official = -(math.log(0.75) + math.log(0.8)) / 2  # 2 lowest of the 8
    assert float(ours) == pytest.approx(official, rel=1e-9)

    head = FCNHead(
        in_channels=2,
        channels=2,
        num_classes=2,
        num_convs=0,
        concat_input=False,
    )
    sampler = OHEMPixelSampler(context=head, thresh=0.7, min_kept=2)
    weight = sampler.sample(logits.float(), label[:, None])
    mmseg = CrossEntropyLoss()(
        logits.float(), label, weight=weight, ignore_index=IGNORE
    )
    # mmseg: threshold = the p_gt at sorted index min_kept x batch (= 4,
    # the 5th lowest: 0.9), pixels strictly below it, divided by all 8
    kept = (0.75, 0.8, 0.85)
    assert float(mmseg) == pytest.approx(
        -sum(math.log(v) for v in kept) / 8, rel=1e-5
    )
    assert abs(float(mmseg) - official) > 0.05


@pytest.mark.parametrize(
    'kwargs, named',
    [
        (dict(min_kept=0), 'min_kept must be a positive integer, got 0'),
        (dict(min_kept=-5), 'got -5'),
        (dict(thresh=0.0), 'thresh must be in (0, 1], got 0.0'),
        (dict(thresh=1.5), 'got 1.5'),
    ],
)
def test_bad_settings_name_the_value(kwargs, named):
    with pytest.raises(ValueError) as err:
        MODELS.build(dict(type='SFOhemCrossEntropy', **kwargs))
    assert named in str(err.value)


def test_usable_as_an_mmseg_decode_loss():
    from mmengine.structures import PixelData
    from mmseg.models.decode_heads import FCNHead
    from mmseg.structures import SegDataSample

    head = FCNHead(
        in_channels=4,
        channels=4,
        num_classes=3,
        num_convs=1,
        loss_decode=dict(type='SFOhemCrossEntropy', min_kept=10),
    )
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 16, 16)))
    sample.set_metainfo(dict(img_shape=(16, 16)))
    losses = head.loss([torch.randn(1, 4, 8, 8)], [sample], None)
    assert set(losses) == {'loss_ohem', 'acc_seg'}
    assert torch.isfinite(losses['loss_ohem'])
