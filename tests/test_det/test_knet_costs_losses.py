"""Matching costs and losses of K-Net against values worked out by hand."""

import itertools
import math

import pytest
import torch
from knet_helpers import R50_BASE
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import Config
from mmengine.structures import InstanceData


def logit(p):
    return math.log(p / (1 - p))


def sig(x):
    return 1 / (1 + math.exp(-x))


def focal(x, y, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss of one logit x against a 0/1 target y."""
    p = sig(x)
    if y:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p**gamma * math.log(1 - p)


def bce(x, t):
    p = sig(x)
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def dice(ps, ts, eps=1e-3):
    """K-Net / mmdet non-naive dice loss of one mask (lists of probs)."""
    a = sum(p * t for p, t in zip(ps, ts))
    b = sum(p * p for p in ps) + eps
    c = sum(t * t for t in ts) + eps
    return 1 - 2 * a / (b + c)


# --------------------------------------------------------------- costs


def test_mask_cost_is_linear_pixel_agreement():
    cost = TASK_UTILS.build(dict(type='MaskCost', weight=2.0))
    preds = InstanceData(masks=torch.tensor([[[1.0, 0.0]], [[0.5, 0.5]]]))
    gts = InstanceData(
        labels=torch.tensor([0, 0]),
        masks=torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]]),
    )
    # p0 = t0 agrees on both pixels: -(1 + 1) / 2 = -1; p0 vs t1 agrees on
    # none: 0; p1 half-agrees with anything: -(0.5 + 0.5) / 2 = -0.5.
    expected = 2.0 * torch.tensor([[-1.0, 0.0], [-0.5, -0.5]])
    assert torch.allclose(cost(preds, gts), expected)

    act = TASK_UTILS.build(dict(type='MaskCost', weight=1.0, pred_act=True))
    logits = InstanceData(masks=torch.tensor([[[logit(0.8), logit(0.3)]]]))
    # -(0.8 * 1 + 0.3 * 0 + 0.2 * 0 + 0.7 * 1) / 2 = -0.75
    assert act(logits, gts)[0, 0].item() == pytest.approx(-0.75)


def test_mask_cost_rejects_mismatched_sizes():
    cost = TASK_UTILS.build(dict(type='MaskCost'))
    preds = InstanceData(masks=torch.zeros(1, 4, 4))
    gts = InstanceData(labels=torch.tensor([0]), masks=torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match='one size'):
        cost(preds, gts)


def test_dice_and_focal_costs_match_knet_formulas():
    cfg = Config.fromfile(R50_BASE)
    dice_cost = TASK_UTILS.build(cfg.mask_costs[0])
    focal_cost = TASK_UTILS.build(dict(type='FocalLossCost', weight=2.0))
    probs = [[0.9, 0.9, 0.1, 0.1], [0.6, 0.2, 0.7, 0.4]]
    targets = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    preds = InstanceData(
        masks=torch.tensor([[[logit(p) for p in row]] for row in probs]),
        scores=torch.tensor([[1.5, -0.5], [-2.0, 0.25]]),
    )
    gts = InstanceData(
        labels=torch.tensor([1, 0]), masks=torch.tensor(targets)[:, None]
    )
    got = dice_cost(preds, gts)
    for i, j in itertools.product(range(2), range(2)):
        p, t = probs[i], targets[j]
        a = sum(x * y for x, y in zip(p, t))
        d = sum(x * x for x in p) + sum(y * y for y in t)
        # mmdet: 1 - (2a + eps) / (sum p^2 + sum t^2 + eps), eps = 1e-3.
        # K-Net's -2a / (sum p^2 + sum t^2 + 2 eps) differs by the constant
        # 1 and the eps placement only.
        expected = 4.0 * (1 - (2 * a + 1e-3) / (d + 1e-3))
        assert got[i, j].item() == pytest.approx(expected, rel=1e-5)
        assert got[i, j].item() == pytest.approx(4.0 * dice(p, t), abs=5e-3)
    got = focal_cost(preds, gts)
    for i, j in itertools.product(range(2), range(2)):
        x = preds.scores[i, gts.labels[j]].item()
        expected = 2.0 * (focal(x, 1) - focal(x, 0))
        assert got[i, j].item() == pytest.approx(expected, rel=1e-5)


def test_hungarian_assignment_minimises_focal_dice_mask_cost():
    cfg = Config.fromfile(R50_BASE)
    assigner = TASK_UTILS.build(cfg.assign_with_cls.assigner)
    probs = [
        [0.9, 0.9, 0.1, 0.1],
        [0.8, 0.7, 0.6, 0.2],
        [0.1, 0.2, 0.9, 0.8],
    ]
    scores = [[-3.0, 3.0], [2.0, -2.0], [0.0, 0.0]]
    targets = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    labels = [0, 1]

    def cost(i, j):
        p, t = probs[i], targets[j]
        x = scores[i][labels[j]]
        cls = 2.0 * (focal(x, 1) - focal(x, 0))
        dc = 4.0 * dice(p, t)
        agree = sum(a * b + (1 - a) * (1 - b) for a, b in zip(p, t))
        return cls + dc - agree / len(p)

    best = min(
        itertools.permutations(range(3), 2),
        key=lambda rows: sum(cost(r, j) for j, r in enumerate(rows)),
    )
    # The class cost overrides the best-looking mask of proposal 0.
    assert best == (1, 2)
    preds = InstanceData(
        masks=torch.tensor([[[logit(p) for p in row]] for row in probs]),
        scores=torch.tensor(scores),
    )
    gts = InstanceData(
        labels=torch.tensor(labels), masks=torch.tensor(targets)[:, None]
    )
    result = assigner.assign(pred_instances=preds, gt_instances=gts)
    assert result.gt_inds.tolist() == [0, 1, 2]
    assert result.labels.tolist() == [-1, 0, 1]


# -------------------------------------------------------------- losses


def _update_head(**kwargs):
    cfg = dict(
        type='KernelUpdateHead',
        num_things_classes=1,
        num_stuff_classes=1,
        in_channels=8,
        out_channels=8,
        num_heads=2,
        feedforward_channels=16,
        kernel_updator_cfg=dict(
            type='KernelUpdator', in_channels=8, feat_channels=8
        ),
    )
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _sampling(gt_inds, things):
    from mmdet.models.task_modules.assigners import AssignResult

    sampler = TASK_UTILS.build(dict(type='MaskPseudoSampler'))
    labels = torch.tensor(
        [int(things.labels[i - 1]) if i > 0 else -1 for i in gt_inds]
    )
    gt_inds = torch.tensor(gt_inds)
    result = AssignResult(len(things), gt_inds, None, labels=labels)
    preds = InstanceData(masks=torch.zeros(len(gt_inds), 1, 2))
    return sampler.sample(result, preds, things)


def test_update_head_targets_and_losses_by_hand():
    """T=1 thing class, S=1 stuff class, N=2 thing kernels, a 1x2 grid.

    Kernel 1 is matched to the thing (label 0, mask [1, 0]); kernel 0 is
    negative; the stuff kernel (row 2) owns class 1 (mask [0, 1]).
    """
    head = _update_head()
    things = InstanceData(
        labels=torch.tensor([0]), masks=torch.tensor([[[1.0, 0.0]]])
    )
    stuff = InstanceData(
        labels=torch.tensor([1]), masks=torch.tensor([[[0.0, 1.0]]])
    )
    labels, weights, targets = head.get_targets(
        [_sampling([0, 1], things)], [things], [stuff]
    )
    assert labels.tolist() == [[2, 0, 1]]
    # Thing kernels: thing column only; stuff kernel: its own column only.
    assert weights.tolist() == [[[1, 0], [1, 0], [0, 1]]]
    assert targets.tolist() == [[[[0, 0]], [[1, 0]], [[0, 1]]]]

    cls = [[0.5, -1.0], [2.0, 0.3], [-0.2, 1.5]]
    masks = [[0.1, -0.3], [1.2, -0.7], [-0.4, 0.9]]
    losses = head.loss_by_feat(
        torch.tensor([cls]),
        torch.tensor(masks)[None, :, None],
        labels,
        weights,
        targets,
    )
    onehot = [[0, 0], [1, 0], [0, 1]]
    w = weights[0].tolist()
    num_pos = 2
    exp_cls = 2.0 * sum(
        w[k][c] * focal(cls[k][c], onehot[k][c])
        for k in range(3)
        for c in range(2)
    )
    exp_cls /= num_pos
    tgt = [[0, 0], [1, 0], [0, 1]]
    exp_mask = sum(bce(masks[k][x], tgt[k][x]) for k in (1, 2) for x in (0, 1))
    exp_mask /= 4
    exp_dice = 4.0 * sum(
        dice([sig(v) for v in masks[k]], tgt[k]) for k in (1, 2)
    )
    exp_dice /= 2

    def neg_log_softmax(col, k):
        vals = [masks[r][col] for r in range(3)]
        return -vals[k] + math.log(sum(math.exp(v) for v in vals))

    # Pixel 0 belongs to kernel 1, pixel 1 to kernel 2 (the stuff kernel).
    exp_rank = 0.1 * (neg_log_softmax(0, 1) + neg_log_softmax(1, 2)) / 2
    assert losses['loss_cls'].item() == pytest.approx(exp_cls, rel=1e-5)
    assert losses['loss_mask'].item() == pytest.approx(exp_mask, rel=1e-5)
    assert losses['loss_dice'].item() == pytest.approx(exp_dice, rel=1e-5)
    assert losses['loss_rank'].item() == pytest.approx(exp_rank, rel=1e-5)
    assert losses['pos_acc'].item() == pytest.approx(100.0)


def test_update_head_absent_stuff_is_background_on_its_own_column():
    head = _update_head()
    things = InstanceData(
        labels=torch.zeros(0, dtype=torch.long), masks=torch.zeros(0, 1, 2)
    )
    stuff = InstanceData(
        labels=torch.zeros(0, dtype=torch.long), masks=torch.zeros(0, 1, 2)
    )
    labels, weights, targets = head.get_targets(
        [_sampling([0, 0], things)], [things], [stuff]
    )
    assert labels.tolist() == [[2, 2, 2]]
    assert weights.tolist() == [[[1, 0], [1, 0], [0, 1]]]
    masks = torch.randn(1, 3, 1, 2, requires_grad=True)
    losses = head.loss_by_feat(
        torch.zeros(1, 3, 2), masks, labels, weights, targets
    )
    # No positives: avg_factor clamps to 1; mask losses are zero but keep
    # the graph (DDP needs every parameter in it).
    assert losses['loss_cls'].item() == pytest.approx(2.0 * 3 * focal(0.0, 0))
    for key in ('loss_mask', 'loss_dice', 'loss_rank'):
        assert losses[key].item() == 0
        assert losses[key].requires_grad


def test_kernel_head_semantic_targets_and_focal_stuff_loss():
    """ConvKernelHead on a 1x3 grid, T=1, S=1, N=2 thing kernels.

    Stuff (class 1) covers pixels 1, 2 with soft values; the matched thing
    (class 0) covers pixels 0, 1 and is painted over the stuff.
    """
    from mmdet.models.task_modules.assigners import AssignResult

    head = MODELS.build(
        dict(
            type='ConvKernelHead',
            num_proposals=2,
            in_channels=8,
            out_channels=8,
            num_things_classes=1,
            num_stuff_classes=1,
            norm_cfg=dict(type='GN', num_groups=4),
            localization_fpn=dict(
                type='SemanticFPNWrapper',
                in_channels=8,
                feat_channels=8,
                out_channels=8,
                num_aux_convs=1,
            ),
            train_cfg=dict(
                assigner=dict(
                    type='HungarianAssigner',
                    match_costs=[dict(type='MaskCost', pred_act=True)],
                )
            ),
        )
    )
    things = InstanceData(
        labels=torch.tensor([0]), masks=torch.tensor([[[0.5, 1.0, 0.0]]])
    )
    stuff = InstanceData(
        labels=torch.tensor([1]), masks=torch.tensor([[[0.0, 0.25, 1.0]]])
    )
    # Kernel 1 predicts the thing, kernel 0 predicts nothing.
    mask_preds = torch.tensor([[[[-5.0, -5.0, -5.0]], [[5.0, 5.0, -5.0]]]])
    mask_targets, pos, seg_targets = head.get_targets(
        mask_preds, [things], [stuff]
    )
    assert pos.tolist() == [[False, True]]
    assert mask_targets[0, 1].tolist() == [[0.5, 1.0, 0.0]]
    assert seg_targets.tolist() == [[[0, 0, 1]]]

    seg_targets = torch.tensor([[[0, 1, 2]]])  # thing, stuff, background
    seg = [[0.3, -1.0, 0.8], [-0.6, 1.1, -2.0]]  # (class, pixel)
    masks = torch.tensor([[[[0.2, -0.1, 0.0]], [[1.5, 0.4, -2.0]]]])
    losses = head.loss_by_feat(
        masks, torch.tensor(seg)[None, :, None], mask_targets, pos, seg_targets
    )
    onehot = [[1, 0], [0, 1], [0, 0]]  # per pixel
    exp_seg = sum(
        focal(seg[c][x], onehot[x][c]) for x in range(3) for c in range(2)
    )
    exp_seg /= 2  # two foreground pixels
    tgt = [0.5, 1.0, 0.0]
    row = masks[0, 1, 0].tolist()
    exp_mask = sum(bce(v, t) for v, t in zip(row, tgt)) / 3
    exp_dice = 4.0 * dice([sig(v) for v in row], tgt)

    def neg_log_softmax(col, k):
        vals = [masks[0, r, 0, col].item() for r in range(2)]
        return -vals[k] + math.log(sum(math.exp(v) for v in vals))

    # Pixels 0, 1 belong to kernel 1; pixel 2 is ignored but averaged in.
    exp_rank = 0.1 * (neg_log_softmax(0, 1) + neg_log_softmax(1, 1)) / 3
    assert set(losses) == {
        'loss_rpn_mask',
        'loss_rpn_dice',
        'loss_rpn_rank',
        'loss_rpn_seg',
    }
    assert losses['loss_rpn_seg'].item() == pytest.approx(exp_seg, rel=1e-5)
    assert losses['loss_rpn_mask'].item() == pytest.approx(exp_mask, rel=1e-5)
    assert losses['loss_rpn_dice'].item() == pytest.approx(exp_dice, rel=1e-5)
    assert losses['loss_rpn_rank'].item() == pytest.approx(exp_rank, rel=1e-5)
    del AssignResult


def test_rank_targets_let_the_later_kernel_win_overlaps():
    from sfseg.det.knet.utils import rank_targets

    targets = torch.tensor([[[[1.0, 0.5, 0.0]], [[0.0, 0.2, 0.0]]]])
    pos = torch.tensor([[True, True]])
    assert rank_targets(targets, pos, 255).tolist() == [[[0, 1, 255]]]
    pos = torch.tensor([[True, False]])
    assert rank_targets(targets, pos, 255).tolist() == [[[0, 0, 255]]]
