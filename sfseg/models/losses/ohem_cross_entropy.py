"""Online hard example mining cross-entropy, exactly as the official SFNet
training (``OhemCrossEntropy2dTensor`` in lxtGH/SFSegNets ``loss.py``).

mmseg's ``OHEMPixelSampler`` differs in three ways: it keeps
``min_kept x batch`` pixels, keeps ``p < thresh`` (not ``<=``), and the
loss then averages over all valid pixels. The official loss, computed per
process on its local batch:

1. ``p_gt`` = softmax probability of the ground-truth class per valid
   pixel (ignored pixels count as 1);
2. if ``min_kept`` exceeds the number of valid pixels: no mining;
   otherwise ``threshold = max(thresh, p_gt of the min_kept-th lowest)``
   and every valid pixel with ``p_gt <= threshold`` is kept (ties at the
   threshold included);
3. cross-entropy averaged over the kept pixels.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class SFOhemCrossEntropy(nn.Module):
    """Official OHEM cross-entropy (see module doc).

    Args:
        thresh (float): probability below or at which a pixel is hard,
            in (0, 1]. Official: 0.7.
        min_kept (int): at least this many pixels per process (the
            lowest ``p_gt``). Official: 10,000 (``--ohem``) or 100,000
            (``CriterionSFNet``).
        loss_weight (float): multiplier of the loss.
        loss_name (str): key in the loss dict (must start with ``loss_``).

    Shapes: ``cls_score`` N x C x H x W logits at the label's size,
    ``label`` N x H x W class ids (``ignore_index`` for void).
    """

    def __init__(
        self,
        thresh=0.7,
        min_kept=10000,
        loss_weight=1.0,
        loss_name='loss_ohem',
    ):
        super().__init__()
        if not 0 < thresh <= 1:
            raise ValueError(
                f'SFOhemCrossEntropy: thresh must be in (0, 1], got {thresh}'
            )
        if int(min_kept) != min_kept or min_kept <= 0:
            raise ValueError(
                'SFOhemCrossEntropy: min_kept must be a positive integer, '
                f'got {min_kept}'
            )
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @torch.no_grad()
    def hard_pixels(self, cls_score, label, ignore_index=255):
        """Boolean N x H x W mask of the pixels the loss keeps.

        Computed on tensors only (no ``.item()``, no branch on a value),
        so that ``torch.compile`` keeps the loss in one graph.
        """
        c = cls_score.shape[1]
        target = label.reshape(-1)
        valid = target != ignore_index
        num_valid = valid.sum()
        prob = F.softmax(cls_score.float(), dim=1)
        prob = prob.transpose(0, 1).reshape(c, -1)
        safe = target.masked_fill(~valid, 0)
        p_gt = prob.gather(0, safe[None]).squeeze(0).masked_fill(~valid, 1)
        kth = torch.kthvalue(p_gt, min(p_gt.numel(), self.min_kept)).values
        threshold = kth.clamp(min=self.thresh)  # max(thresh, kth)
        mined = valid & (p_gt <= threshold)
        no_mining = (num_valid < self.min_kept) | (num_valid == 0)
        return torch.where(no_mining, valid, mined).view_as(label)

    def forward(
        self, cls_score, label, weight=None, ignore_index=255, **kwargs
    ):
        if weight is not None:
            raise ValueError(
                'SFOhemCrossEntropy mines pixels itself: do not combine it '
                'with a sampler (got pixel weights)'
            )
        keep = self.hard_pixels(cls_score, label, ignore_index)
        target = label.masked_fill(~keep, ignore_index)
        total = F.cross_entropy(
            cls_score, target, ignore_index=ignore_index, reduction='sum'
        )
        # The mean over the kept pixels, as 'mean' computes it (the same
        # sum, divided by the count); with no pixel kept the official loss
        # is NaN (0/0), which would poison the weights: 0 here, and no
        # gradient.
        count = keep.sum().clamp(min=1).to(total.dtype)
        return self.loss_weight * (total / count)

    @property
    def loss_name(self):
        return self._loss_name
