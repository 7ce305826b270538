"""K-Net through mmdet's loss / predict API, and the panoptic merge."""

import math

import pytest
import torch
from knet_helpers import (
    NUM_PROPOSALS,
    NUM_STUFF,
    NUM_THINGS,
    build_det,
    make_sample,
    tiny_model_cfg,
)
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

NC = NUM_THINGS + NUM_STUFF
STAGE_KEYS = ('loss_cls', 'pos_acc', 'loss_mask', 'loss_dice', 'loss_rank')
LOSS_KEYS = {
    'loss_rpn_mask',
    'loss_rpn_dice',
    'loss_rpn_rank',
    'loss_rpn_seg',
} | {f's{i}_{k}' for i in range(3) for k in STAGE_KEYS}


@pytest.fixture(scope='module')
def model(_det_registered):
    torch.manual_seed(0)
    m = build_det(tiny_model_cfg())
    m.init_weights()
    return m


def batch(model, training, samples=None):
    samples = samples or [make_sample(seed=0), make_sample(52, 64, seed=1)]
    data = dict(
        inputs=[img for img, _ in samples],
        data_samples=[s for _, s in samples],
    )
    return model.data_preprocessor(data, training)


def test_init_weights_reaches_every_stage(model):
    prior = -math.log((1 - 0.01) / 0.01)
    for head in model.roi_head.mask_head:
        assert torch.allclose(head.fc_cls.bias, torch.tensor(prior))
    assert torch.allclose(model.rpn_head.conv_seg.bias, torch.tensor(prior))
    std = model.rpn_head.init_kernels.weight.std().item()
    assert std == pytest.approx(1.0, rel=0.3)


def test_loss_names_values_and_backward(model):
    model.train()
    data = batch(model, True)
    assert data['inputs'].shape == (2, 3, 64, 64)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == LOSS_KEYS
    for key, value in losses.items():
        assert value.numel() == 1 and torch.isfinite(value).all(), key
    for i in range(3):
        assert 0 <= losses[f's{i}_pos_acc'].item() <= 100
    total = sum(v for k, v in losses.items() if 'loss' in k)
    model.zero_grad()
    total.backward()
    grads = {
        name: p.grad for name, p in model.named_parameters() if p.requires_grad
    }
    missing = [n for n, g in grads.items() if g is None]
    assert not missing, missing
    # The stuff kernels are conv_seg rows: they learn from the update heads
    # as well as from the semantic loss.
    assert model.rpn_head.conv_seg.weight.grad[NUM_THINGS:].abs().sum() > 0


def test_loss_through_train_step_and_without_things(model):
    """The runner's path, on an image with stuff but no thing instance."""
    from mmengine.optim import OptimWrapper

    model.train()
    samples = [make_sample(seed=2, with_things=False)]
    data = dict(
        inputs=[img for img, _ in samples],
        data_samples=[s for _, s in samples],
    )
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    log_vars = model.train_step(data, optim)
    assert LOSS_KEYS <= set(log_vars)
    assert math.isfinite(log_vars['loss'].item())
    assert log_vars['loss_rpn_mask'].item() == 0  # no thing to match


def test_predict_gives_valid_panoptic_ids(model):
    model.eval()
    data = batch(model, False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    for sample, (h, w) in zip(out, [(60, 56), (52, 64)]):
        pan = sample.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, h, w)
        assert pan.dtype == torch.int32
        labels = pan % INSTANCE_OFFSET
        ids = pan // INSTANCE_OFFSET
        assert labels.min() >= 0 and labels.max() <= NC
        # Void is exactly num_classes with id 0; every segment has id >= 1,
        # so no segment is encoded as 0 (the metric's VOID).
        void = labels == NC
        assert (ids[void] == 0).all()
        assert (ids[~void] >= 1).all()
        assert (pan != 0).all()
        # One id per segment.
        segs = pan[~void].unique()
        assert len(set((segs // INSTANCE_OFFSET).tolist())) == len(segs)


def test_forward_modes(model):
    model.eval()
    data = batch(model, False)
    with torch.no_grad():
        outs = model(data['inputs'], data['data_samples'], mode='tensor')
        preds = model(data['inputs'], data['data_samples'], mode='predict')
    assert len(outs) == 3
    cls, masks = outs[-1]
    assert cls.shape == (2, NUM_PROPOSALS + NUM_STUFF, NC)
    assert masks.shape == (2, NUM_PROPOSALS + NUM_STUFF, 16, 16)
    assert all('pred_panoptic_seg' in p for p in preds)


def test_instance_output():
    cfg = tiny_model_cfg()
    cfg.test_cfg.panoptic.instance_on = True
    cfg.test_cfg.panoptic.max_per_img = 5
    model = MODELS.build(cfg).eval()
    data = batch(model, False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    ins = out[0].pred_instances
    assert ins.masks.shape == (5, 60, 56) and ins.masks.dtype == torch.bool
    assert ins.bboxes.shape == (5, 4)
    assert ins.labels.max() < NUM_THINGS
    assert (ins.scores[:-1] >= ins.scores[1:]).all()


def test_class_split_must_agree():
    cfg = tiny_model_cfg()
    cfg.panoptic_fusion_head.num_stuff_classes = 3
    with pytest.raises(ValueError, match='panoptic_fusion_head'):
        MODELS.build(cfg)
    cfg = tiny_model_cfg()
    cfg.num_things_classes = 80
    with pytest.raises(ValueError, match=r'\(80, 2\)'):
        MODELS.build(cfg)
    cfg = tiny_model_cfg()
    cfg.panoptic_fusion_head.num_proposals = 7
    with pytest.raises(ValueError, match='num_proposals differ'):
        MODELS.build(cfg)


def test_bad_ground_truth_fails_clearly(model):
    model.train()
    img, sample = make_sample()
    del sample.gt_sem_seg
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), True
    )
    with pytest.raises(ValueError, match='needs gt_sem_seg'):
        model.loss(data['inputs'], data['data_samples'])
    img, sample = make_sample()
    sample.gt_sem_seg.sem_seg[0, 0, 0] = 9
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), True
    )
    with pytest.raises(ValueError, match=r'labels \[9\] outside'):
        model.loss(data['inputs'], data['data_samples'])


# ----------------------------------------------------------- fusion head


def fusion_head(**test_cfg):
    return MODELS.build(
        dict(
            type='KNetFusionHead',
            num_things_classes=2,
            num_stuff_classes=1,
            num_proposals=2,
            test_cfg=test_cfg,
        )
    )


def logits(p):
    p = torch.as_tensor(p, dtype=torch.float).clamp(1e-6, 1 - 1e-6)
    return torch.log(p / (1 - p))


def merge(head, cls_probs, mask_probs):
    """Run the head on a 1x4 image given probabilities."""
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(1, 4), ori_shape=(1, 4), batch_input_shape=(1, 4)
        )
    )
    out = head.predict(
        logits(cls_probs)[None],
        logits(mask_probs)[None, :, None],
        [sample],
        rescale=True,
    )
    return out[0]['pan_results'].sem_seg[0, 0].tolist()


def test_merge_by_hand():
    """Kernels: thing 0, thing 1, stuff (class 2); scores 0.9, 0.8, 0.7.

    score x mask: thing 0 [.9 .9 0 0], thing 1 [0 0 .48 0], stuff
    [0 0 .7 .7]. Thing 0 (class 0) keeps pixels 0-1 as segment 1, i.e.
    0 + 1 * 1000 (K-Net would write 0 = void); thing 1 owns no pixel; the
    stuff kernel keeps 2-3 as segment 2.
    """
    head = fusion_head()
    cls = [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 0.7]]
    masks = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.6, 0.0], [0.0, 0.0, 1.0, 1.0]]
    assert merge(head, cls, masks) == [1000, 1000, 2002, 2002]


def test_merge_drops_low_score_things_to_void():
    """Thing 1 owns pixel 3 (0.25 > 0.7 x 0.1) but scores 0.25 < 0.3."""
    cls = [[0.9, 0.1, 0.0], [0.2, 0.25, 0.0], [0.0, 0.0, 0.7]]
    masks = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.9, 0.1]]
    assert merge(fusion_head(), cls, masks) == [1000, 1000, 2002, 3]
    got = merge(fusion_head(instance_score_thr=0.2), cls, masks)
    assert got == [1000, 1000, 2002, 3001]


def test_merge_overlap_threshold():
    """Thing 1 (mask >= 0.5 on pixels 1-2) loses pixel 1 to thing 0.

    It keeps 1 / 2 of its area: dropped at overlap_thr 0.6 (pixel 2 turns
    void), kept at 0.5. Every pixel has an owner in the argmax, so pixel 3
    (all masks ~0) goes to the best-scoring kernel, thing 0.
    """
    cls = [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 0.05]]
    masks = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.9, 0.9, 0.0], [0.0, 0.0, 0.0, 0.0]]
    got = merge(fusion_head(overlap_thr=0.6), cls, masks)
    assert got == [1000, 1000, 3, 1000]
    got = merge(fusion_head(overlap_thr=0.5), cls, masks)
    assert got == [1000, 1000, 2001, 1000]


def test_fusion_head_rejects_semantic_output():
    with pytest.raises(ValueError, match='no semantic output'):
        fusion_head(semantic_on=True)
