"""K-Net's linear mask matching cost."""

import torch
from mmdet.models.task_modules.assigners.match_cost import BaseMatchCost
from mmdet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class MaskCost(BaseMatchCost):
    """Negative mean pixel agreement between predicted and GT masks.

    ``cost[i, j] = -(sum(p_i * t_j) + sum((1 - p_i) * (1 - t_j))) / (H*W)``
    with ``p`` the (sigmoid) mask probabilities and ``t`` the (soft)
    targets. Unlike mmdet's ``CrossEntropyLossCost`` it is linear in ``p``
    (no log), as in K-Net.

    Args:
        weight (float): Multiplier of the cost.
        pred_act (bool): Apply a sigmoid to the predictions first.

    Shape:
        - pred_instances.masks: (N, H, W)
        - gt_instances.masks: (G, H, W)
        - output: (N, G)
    """

    def __init__(self, weight=1.0, pred_act=False):
        super().__init__(weight=weight)
        self.pred_act = pred_act

    def __call__(self, pred_instances, gt_instances, img_meta=None, **kwargs):
        preds = pred_instances.masks.float()
        targets = gt_instances.masks
        if not isinstance(targets, torch.Tensor):
            targets = targets.to_tensor(torch.float, preds.device)
        targets = targets.float()
        if preds.shape[-2:] != targets.shape[-2:]:
            raise ValueError(
                f'MaskCost needs predictions and targets of one size, got '
                f'{tuple(preds.shape[-2:])} and {tuple(targets.shape[-2:])}'
            )
        if self.pred_act:
            preds = preds.sigmoid()
        preds = preds.flatten(1)
        targets = targets.flatten(1)
        agree = preds @ targets.T + (1 - preds) @ (1 - targets).T
        return -agree / preds.shape[1] * self.weight
