"""Base of sfseg's decode heads: mmseg's ``BaseDecodeHead`` with its loss
computed on tensors only."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead


def pixel_accuracy(seg_logits, seg_label, ignore_index):
    """mmseg's ``accuracy`` (top-1, in percent, over the pixels not
    ignored) without boolean indexing, whose data-dependent size breaks a
    ``torch.compile`` graph.

    Shapes: ``seg_logits`` N x C x H x W, ``seg_label`` N x H x W -> (1,).
    """
    eps = torch.finfo(torch.float32).eps
    valid = seg_label != ignore_index
    pred = seg_logits.topk(1, dim=1)[1].squeeze(1)
    correct = ((pred == seg_label) & valid).reshape(-1).float()
    correct = correct.sum(0, keepdim=True) + eps
    return correct * (100.0 / (valid.sum() + eps))


class SFDecodeHead(BaseDecodeHead):
    """``BaseDecodeHead`` whose ``loss_by_feat`` is mmseg's (resize to the
    label, optional pixel sampler, every ``loss_decode`` term, top-1
    accuracy) with the same maths, written so that ``torch.compile``
    traces it as one graph: ``F.interpolate`` instead of mmseg's
    ``resize``, which may call ``warnings.warn`` (a graph break), and
    :func:`pixel_accuracy`."""

    def loss_by_feat(self, seg_logits, batch_data_samples):
        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = F.interpolate(
            seg_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners,
        )
        seg_weight = None
        if self.sampler is not None:
            seg_weight = self.sampler.sample(seg_logits, seg_label)
        seg_label = seg_label.squeeze(1)
        losses_decode = self.loss_decode
        if not isinstance(losses_decode, nn.ModuleList):
            losses_decode = [losses_decode]
        losses = {}
        for loss_decode in losses_decode:
            term = loss_decode(
                seg_logits,
                seg_label,
                weight=seg_weight,
                ignore_index=self.ignore_index,
            )
            name = loss_decode.loss_name
            losses[name] = losses[name] + term if name in losses else term
        losses['acc_seg'] = pixel_accuracy(
            seg_logits, seg_label, self.ignore_index
        )
        return losses
