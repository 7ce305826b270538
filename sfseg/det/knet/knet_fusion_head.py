"""K-Net's thing/stuff merge into a panoptic map (mmdet 3.x format)."""

import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.models.seg_heads.panoptic_fusion_heads import (
    BasePanopticFusionHead,
)
from mmdet.registry import MODELS
from mmdet.structures.mask import mask2bbox
from mmengine.structures import InstanceData, PixelData


@MODELS.register_module()
class KNetFusionHead(BasePanopticFusionHead):
    """Turns K-Net's last-stage kernels into panoptic (and instance) results.

    Scores: sigmoid of the class logits; thing kernel j scores
    ``max`` over the thing columns, stuff kernel i scores its own column
    T+i. Masks: sigmoid, resized to the padded input, cropped to
    ``img_shape`` and (with ``rescale``) resized to ``ori_shape``.

    Merge (K-Net's ``merge_stuff_thing``): every pixel goes to the kernel
    with the highest ``score * mask``; kernels are visited by descending
    score, things below ``instance_score_thr`` are dropped, and a kernel
    keeps its pixels when they cover at least ``overlap_thr`` of its own
    ``mask >= 0.5`` area. Kept segments are written as
    ``label + id * INSTANCE_OFFSET`` with one running id for things and
    stuff that starts at **1** (K-Net starts at 0, which makes the first
    segment of class 0 indistinguishable from void, id 0, in
    ``CocoPanopticMetric``). Unclaimed pixels get ``num_classes`` (void).

    Args:
        num_things_classes (int): T.
        num_stuff_classes (int): S.
        num_proposals (int): N, number of thing kernels (the first N rows).
        test_cfg (dict, optional): ``panoptic_on`` (True),
            ``instance_on`` (False), ``overlap_thr`` (0.6),
            ``instance_score_thr`` (0.3), and for instances
            ``max_per_img`` (100) and ``mask_thr`` (0.5).
        loss_panoptic (dict, optional): Unused (no loss).
        init_cfg (dict, optional): Unused.

    Shape:
        - cls_scores: (B, N+S, T+S) logits
        - mask_preds: (B, N+S, h, w) logits, h*r x w*r = padded input size
        - output: per image ``pan_results`` PixelData ``sem_seg`` (1, H, W)
          int32 and optionally ``ins_results`` InstanceData
    """

    def __init__(
        self,
        num_things_classes=80,
        num_stuff_classes=53,
        num_proposals=100,
        test_cfg=None,
        loss_panoptic=None,
        init_cfg=None,
        **kwargs,
    ):
        super().__init__(
            num_things_classes=num_things_classes,
            num_stuff_classes=num_stuff_classes,
            test_cfg=test_cfg,
            loss_panoptic=loss_panoptic,
            init_cfg=init_cfg,
            **kwargs,
        )
        if self.num_classes >= INSTANCE_OFFSET:
            raise ValueError(
                f'{self.num_classes} classes do not fit the panoptic id '
                f'encoding label + id * {INSTANCE_OFFSET}'
            )
        self.num_proposals = num_proposals
        cfg = dict(test_cfg or {})
        self.panoptic_on = cfg.get('panoptic_on', True)
        self.instance_on = cfg.get('instance_on', False)
        self.overlap_thr = cfg.get('overlap_thr', 0.6)
        self.instance_score_thr = cfg.get('instance_score_thr', 0.3)
        self.max_per_img = cfg.get('max_per_img', 100)
        self.mask_thr = cfg.get('mask_thr', 0.5)
        if cfg.get('semantic_on', False):
            raise ValueError('KNetFusionHead has no semantic output')

    def loss(self, **kwargs):
        """No loss: the merge is inference only."""
        return dict()

    def kernel_scores(self, cls_score):
        """(N+S, T+S) logits -> scores (N+S,) and labels (N+S,)."""
        n, t = self.num_proposals, self.num_things_classes
        probs = cls_score.sigmoid()
        thing_scores, thing_labels = probs[:n, :t].max(dim=1)
        stuff_scores = probs[n:, t:].diagonal()
        stuff_labels = torch.arange(
            t, self.num_classes, device=cls_score.device
        )
        return (
            torch.cat([thing_scores, stuff_scores]),
            torch.cat([thing_labels, stuff_labels]),
        )

    def panoptic_postprocess(self, scores, labels, masks):
        """Merge kernels into one map.

        Args:
            scores (Tensor): (K,) kernel scores.
            labels (Tensor): (K,) kernel labels.
            masks (Tensor): (K, H, W) mask probabilities.

        Returns:
            PixelData: ``sem_seg`` (1, H, W) int32 panoptic ids.
        """
        h, w = masks.shape[-2:]
        pan = torch.full(
            (h, w), self.num_classes, dtype=torch.int32, device=masks.device
        )
        if masks.shape[0] == 0:
            return PixelData(sem_seg=pan[None])
        owner = (scores[:, None, None] * masks).argmax(dim=0)
        segment_id = 1
        for k in torch.argsort(scores, descending=True).tolist():
            label = int(labels[k])
            if (
                label < self.num_things_classes
                and scores[k] < self.instance_score_thr
            ):
                continue
            mine = owner == k
            area = int(mine.sum())
            full_area = int((masks[k] >= 0.5).sum())
            if area == 0 or full_area == 0:
                continue
            if area / full_area < self.overlap_thr:
                continue
            pan[mine] = label + segment_id * INSTANCE_OFFSET
            segment_id += 1
        return PixelData(sem_seg=pan[None])

    def instance_postprocess(self, cls_score, masks):
        """Top-scoring (thing kernel, thing class) pairs as instances.

        Args:
            cls_score (Tensor): (N+S, T+S) logits.
            masks (Tensor): (N+S, H, W) mask probabilities.

        Returns:
            InstanceData: ``scores``, ``labels``, ``bboxes`` (x1, y1, x2,
            y2) and bool ``masks`` (M, H, W).
        """
        n, t = self.num_proposals, self.num_things_classes
        probs = cls_score[:n, :t].sigmoid().flatten()
        num = min(self.max_per_img, probs.numel())
        scores, inds = probs.topk(num)
        kernel_inds = torch.div(inds, t, rounding_mode='floor')
        binary = masks[kernel_inds] > self.mask_thr
        return InstanceData(
            scores=scores,
            labels=inds % t,
            bboxes=mask2bbox(binary),
            masks=binary,
        )

    @staticmethod
    def mask_probs(masks, meta, rescale=True):
        """(K, h, w) mask logits -> (K, H, W) probabilities: resized to the
        padded input, cropped to ``img_shape`` and, with ``rescale``,
        resized to ``ori_shape``."""
        pad_h, pad_w = meta.get('batch_input_shape', meta['img_shape'])
        img_h, img_w = meta['img_shape'][:2]
        probs = F.interpolate(
            masks[None].float().sigmoid(),
            (pad_h, pad_w),
            mode='bilinear',
            align_corners=False,
        )[:, :, :img_h, :img_w]
        if rescale:
            probs = F.interpolate(
                probs,
                meta['ori_shape'][:2],
                mode='bilinear',
                align_corners=False,
            )
        return probs[0]

    def predict(
        self,
        cls_scores,
        mask_preds,
        batch_data_samples,
        rescale=True,
        **kwargs,
    ):
        """Panoptic (and instance) results of a batch.

        Returns:
            list[dict]: per image ``pan_results`` (PixelData) and, with
            ``instance_on``, ``ins_results`` (InstanceData).
        """
        results = []
        for cls_score, masks, sample in zip(
            cls_scores, mask_preds, batch_data_samples
        ):
            probs = self.mask_probs(masks, sample.metainfo, rescale)
            result = {}
            if self.panoptic_on:
                scores, labels = self.kernel_scores(cls_score.float())
                result['pan_results'] = self.panoptic_postprocess(
                    scores, labels, probs
                )
            if self.instance_on:
                result['ins_results'] = self.instance_postprocess(
                    cls_score.float(), probs
                )
            results.append(result)
        return results
