"""Small tensor helpers shared by the K-Net heads.

Shapes use B (images), K (kernels), C (channels), H x W (a feature or
mask grid).
"""

import torch
import torch.nn.functional as F


def masked_feature_sum(masks, feats):
    """Features summed under each mask: (B,K,H,W), (B,C,H,W) -> (B,K,C).

    The sum (not the mean) is what K-Net feeds to its kernels. Large stuff
    masks add up tens of thousands of pixels, which overflows float16, so
    the product always runs in float32 even under autocast.
    """
    with torch.autocast(device_type=feats.device.type, enabled=False):
        return torch.einsum('bkhw,bchw->bkc', masks.float(), feats.float())


def stuff_masks_from_sem_seg(
    sem_seg, num_things_classes, num_classes, ignore_index=255
):
    """Split a semantic map into one binary mask per stuff class present.

    Args:
        sem_seg (Tensor): (H, W) integer labels: things in
            ``[0, num_things_classes)``, stuff in
            ``[num_things_classes, num_classes)``, ``ignore_index`` for void
            and padding.

    Returns:
        tuple[Tensor, Tensor]: labels (S,) long in ascending order and
        masks (S, H, W) float.
    """
    classes = torch.unique(sem_seg)
    bad = classes[(classes != ignore_index) & (classes >= num_classes)]
    if bad.numel():
        raise ValueError(
            f'gt_sem_seg holds labels {bad.tolist()} outside '
            f'[0, {num_classes}) that are not ignore_index={ignore_index}'
        )
    labels = classes[
        (classes >= num_things_classes)
        & (classes < num_classes)
        & (classes != ignore_index)
    ].long()
    masks = (sem_seg[None] == labels[:, None, None]).float()
    return labels, masks


def resize_masks(masks, size):
    """Bilinear resize of (K, H, W) float masks; K may be 0."""
    if masks.shape[-2:] == tuple(size):
        return masks
    if masks.shape[0] == 0:
        return masks.new_zeros((0, *size))
    return F.interpolate(
        masks[None], size, mode='bilinear', align_corners=False
    )[0]


def rank_targets(mask_targets, pos, ignore_index=255):
    """Per-pixel index of the kernel whose target covers the pixel.

    Args:
        mask_targets (Tensor): (B, K, H, W) soft targets; a pixel counts as
            covered when its target is > 0.
        pos (Tensor): (B, K) bool, kernels that have a target.

    Returns:
        Tensor: (B, H, W) long. Where several positive targets overlap the
        highest kernel index wins; uncovered pixels get ``ignore_index``.
    """
    num_kernels = mask_targets.shape[1]
    covered = (mask_targets > 0) & pos[:, :, None, None]
    order = torch.arange(1, num_kernels + 1, device=mask_targets.device)
    best = (covered.long() * order[None, :, None, None]).max(dim=1).values
    return torch.where(best > 0, best - 1, torch.full_like(best, ignore_index))


def kernel_mask_losses(
    mask_preds,
    mask_targets,
    pos,
    loss_mask,
    loss_dice,
    loss_rank=None,
    ignore_index=255,
):
    """K-Net's mask losses for a batch of kernels.

    Args:
        mask_preds (Tensor): (B, K, H, W) logits.
        mask_targets (Tensor): (B, K, H, W) soft targets (zeros where
            ``pos`` is False).
        pos (Tensor): (B, K) bool, kernels with a target.
        loss_mask, loss_dice, loss_rank (nn.Module): sigmoid BCE, dice and
            softmax cross-entropy losses; ``loss_rank`` may be None.

    Returns:
        tuple[Tensor]: ``(mask, dice, rank)``; BCE and dice average over the
        positive kernels, the rank loss is a softmax over all K kernels per
        pixel (mean over every pixel, ignored ones count as zero as in the
        original). Without positives all are ``0 * sum(preds)`` so every
        parameter still gets a gradient. ``rank`` is None without
        ``loss_rank``.
    """
    mask_preds = mask_preds.float()
    if not pos.any():
        zero = mask_preds.sum() * 0
        return zero, zero, (zero if loss_rank is not None else None)
    pos_preds = mask_preds[pos]
    pos_targets = mask_targets[pos].float()
    loss_m = loss_mask(pos_preds, pos_targets)
    loss_d = loss_dice(pos_preds, pos_targets)
    loss_r = None
    if loss_rank is not None:
        target = rank_targets(mask_targets, pos, ignore_index)
        loss_r = loss_rank(mask_preds, target, ignore_index=ignore_index)
    return loss_m, loss_d, loss_r


def build_assigner_sampler(train_cfg, context, has_scores, where):
    """Build the Hungarian assigner and the mask pseudo sampler of a stage.

    Args:
        train_cfg (dict): ``assigner``, optional ``sampler`` (must be
            ``MaskPseudoSampler``) and ``pos_weight``.
        context (nn.Module): Passed to the sampler.
        has_scores (bool): Whether the stage has class scores to match.
            K-Net's kernel head and first update stage have none, so their
            assigner may only use mask costs.
        where (str): Name of the stage for error messages.
    """
    from mmdet.models.task_modules.assigners import (
        ClassificationCost,
        FocalLossCost,
    )
    from mmdet.models.task_modules.samplers import MaskPseudoSampler
    from mmdet.registry import TASK_UTILS

    if 'assigner' not in train_cfg:
        raise ValueError(f'{where}: train_cfg needs an "assigner"')
    assigner = TASK_UTILS.build(train_cfg['assigner'])
    if not has_scores:
        for cost in getattr(assigner, 'match_costs', []):
            uses_scores = isinstance(cost, ClassificationCost) or (
                isinstance(cost, FocalLossCost) and not cost.binary_input
            )
            if uses_scores:
                raise ValueError(
                    f'{where} is matched before any class score exists; '
                    f'remove {type(cost).__name__} from its assigner '
                    f'(K-Net uses mask costs only there)'
                )
    sampler = TASK_UTILS.build(
        train_cfg.get('sampler', dict(type='MaskPseudoSampler')),
        default_args=dict(context=context),
    )
    if not isinstance(sampler, MaskPseudoSampler):
        raise ValueError(
            f'{where}: K-Net needs MaskPseudoSampler, got '
            f'{type(sampler).__name__}'
        )
    return assigner, sampler


def assign_and_sample(assigner, sampler, pred_masks, gt, pred_scores=None):
    """Hungarian-match one image's kernels to its GT things.

    Args:
        pred_masks (Tensor): (N, H, W) mask logits used for matching.
        gt (InstanceData): ``labels`` (G,) and ``masks`` (G, H, W).
        pred_scores (Tensor, optional): (N, num_things) class logits.

    Returns:
        MaskSamplingResult: ``pos_inds``, ``neg_inds``,
        ``pos_assigned_gt_inds`` and ``pos_gt_masks`` over the N kernels.
    """
    from mmengine.structures import InstanceData

    if pred_masks.shape[-2:] != gt.masks.shape[-2:]:
        raise ValueError(
            f'kernel masks {tuple(pred_masks.shape[-2:])} and GT masks '
            f'{tuple(gt.masks.shape[-2:])} differ in size; check '
            f'mask_assign_stride against the feature strides'
        )
    preds = InstanceData(masks=pred_masks.detach())
    if pred_scores is not None:
        preds.scores = pred_scores.detach()
    result = assigner.assign(pred_instances=preds, gt_instances=gt)
    return sampler.sample(result, preds, gt)
