"""K-Net panoptic segmentor on mmdet 3.x's two-stage panoptic base."""

import copy

import torch
import torch.nn.functional as F
from mmdet.models.detectors import TwoStagePanopticSegmentor
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from .utils import resize_masks, stuff_masks_from_sem_seg


def merge_panoptic(
    fusion_head, cls_score, mask_preds, batch_data_samples, rescale=True
):
    """K-Net's post-processing: kernel outputs -> results in the samples.

    The Python half of :meth:`KNet.predict`, shared with the ONNX runtime
    path (``sfseg.det.deploy``): ``fusion_head``
    (:class:`KNetFusionHead`) merges things and stuff, and each sample
    gets ``pred_panoptic_seg`` (and ``pred_instances`` with
    ``instance_on``). Each sample's metainfo needs ``batch_input_shape``,
    ``img_shape`` and, with ``rescale``, ``ori_shape``.

    Args:
        fusion_head (KNetFusionHead): The detector's
            ``panoptic_fusion_head``.
        cls_score (Tensor): (B, N+S, T+S) logits of the last stage.
        mask_preds (Tensor): (B, N+S, h, w) mask logits of the last stage.
        batch_data_samples (list[DetDataSample]): Changed in place.
        rescale (bool): Resize the results to ``ori_shape``.

    Returns:
        list[DetDataSample]: ``batch_data_samples``.
    """
    results = fusion_head.predict(
        cls_score, mask_preds, batch_data_samples, rescale=rescale
    )
    for sample, result in zip(batch_data_samples, results):
        if 'pan_results' in result:
            sample.pred_panoptic_seg = result['pan_results']
        if 'ins_results' in result:
            sample.pred_instances = result['ins_results']
    return batch_data_samples


@MODELS.register_module()
class KNet(TwoStagePanopticSegmentor):
    """K-Net for panoptic segmentation (Zhang et al., NeurIPS 2021).

    backbone -> neck (4 levels, strides 4-32) -> ``rpn_head``
    (:class:`ConvKernelHead`: N thing kernels + S stuff kernels, masks at
    stride 8) -> ``roi_head`` (:class:`KernelIterHead`: update stages) ->
    ``panoptic_fusion_head`` (:class:`KNetFusionHead`). The attribute names
    match the official checkpoints (``backbone``, ``neck``, ``rpn_head``,
    ``roi_head``).

    Training targets come from each ``DetDataSample``: things from
    ``gt_instances`` (``labels`` in [0, T), ``masks``; crowd regions are
    already moved to ``ignored_instances`` by ``PackDetInputs``) and stuff
    from ``gt_sem_seg`` (labels in [T, T+S), 255 = void/padding). Both are
    padded to the batch shape, bilinearly resized to
    ``batch_input_shape / mask_assign_stride`` and kept soft, as in K-Net.

    ``predict`` sets ``pred_panoptic_seg.sem_seg`` (1, H, W) with ids
    ``label + id * INSTANCE_OFFSET`` (void = T+S), as ``CocoPanopticMetric``
    reads it, and ``pred_instances`` when the fusion head has
    ``instance_on``.

    Args:
        num_things_classes (int, optional): T; when given, every head must
            agree (checked), so a dataset's class split lives in one place.
        num_stuff_classes (int, optional): S, likewise.
        mask_assign_stride (int): Stride of the matching and loss grid
            (4 in K-Net).
        ignore_index (int): Void label of ``gt_sem_seg``.
        test_cfg (dict): ``rpn``, ``rcnn`` (both may be None) and
            ``panoptic`` (the fusion head's config).
        Other args: see ``TwoStagePanopticSegmentor``.

    Shape:
        - batch_inputs: (B, 3, H, W), H and W divisible by 32
        - loss output: dict of scalars (``loss_rpn_*``, ``s{i}_*``)
    """

    def __init__(
        self,
        backbone,
        neck=None,
        rpn_head=None,
        roi_head=None,
        panoptic_fusion_head=None,
        train_cfg=None,
        test_cfg=None,
        data_preprocessor=None,
        init_cfg=None,
        num_things_classes=None,
        num_stuff_classes=None,
        mask_assign_stride=4,
        ignore_index=255,
    ):
        for name, cfg in (
            ('rpn_head', rpn_head),
            ('roi_head', roi_head),
            ('panoptic_fusion_head', panoptic_fusion_head),
        ):
            if cfg is None:
                raise ValueError(f'KNet needs a {name} config')
        # mmdet's base classes read these with attribute access.
        rpn_head, roi_head, panoptic_fusion_head = (
            ConfigDict(copy.deepcopy(c))
            for c in (rpn_head, roi_head, panoptic_fusion_head)
        )
        test_cfg = ConfigDict(copy.deepcopy(test_cfg or {}))
        for key in ('rpn', 'rcnn', 'panoptic'):
            test_cfg.setdefault(key, None)
        if train_cfg is not None:
            train_cfg = ConfigDict(copy.deepcopy(train_cfg))
            missing = {'rpn', 'rcnn'} - set(train_cfg)
            if missing:
                raise ValueError(
                    f'KNet train_cfg needs "rpn" and "rcnn", missing '
                    f'{sorted(missing)}'
                )
        super().__init__(
            backbone=backbone,
            neck=neck,
            rpn_head=rpn_head,
            roi_head=roi_head,
            panoptic_fusion_head=panoptic_fusion_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.mask_assign_stride = mask_assign_stride
        self.ignore_index = ignore_index
        self._check_class_split(num_things_classes, num_stuff_classes)

    def _check_class_split(self, num_things, num_stuff):
        heads = {
            'rpn_head': self.rpn_head,
            'roi_head': self.roi_head,
            'panoptic_fusion_head': self.panoptic_fusion_head,
        }
        heads.update(
            {
                f'roi_head.mask_head[{i}]': h
                for i, h in enumerate(self.roi_head.mask_head)
            }
        )
        splits = {
            name: (h.num_things_classes, h.num_stuff_classes)
            for name, h in heads.items()
        }
        if num_things is None:
            num_things = self.rpn_head.num_things_classes
        if num_stuff is None:
            num_stuff = self.rpn_head.num_stuff_classes
        wrong = {
            k: v for k, v in splits.items() if v != (num_things, num_stuff)
        }
        if wrong:
            raise ValueError(
                f'KNet expects (things, stuff) = ({num_things}, '
                f'{num_stuff}) in every head, got {wrong}'
            )
        props = {
            'rpn_head': self.rpn_head.num_proposals,
            'roi_head': self.roi_head.num_proposals,
            'panoptic_fusion_head': self.panoptic_fusion_head.num_proposals,
        }
        if len(set(props.values())) != 1:
            raise ValueError(f'num_proposals differ between heads: {props}')
        self.num_things_classes = num_things
        self.num_stuff_classes = num_stuff

    def _gt_targets(self, batch_data_samples):
        """Soft thing and stuff targets at the assignment stride.

        Returns:
            tuple[list[InstanceData]]: things (``labels`` (G,), ``masks``
            (G, h, w)) and stuff (``labels`` (S',), ``masks`` (S', h, w)).
        """
        pad_h, pad_w = batch_data_samples[0].metainfo['batch_input_shape']
        stride = self.mask_assign_stride
        size = (pad_h // stride, pad_w // stride)
        num_classes = self.num_things_classes + self.num_stuff_classes
        all_things, all_stuff = [], []
        for sample in batch_data_samples:
            gt = sample.gt_instances
            labels = gt.labels
            device = labels.device
            masks = gt.masks
            if not isinstance(masks, torch.Tensor):
                masks = masks.to_tensor(torch.float, device)
            masks = masks.float()
            if labels.numel() and int(labels.max()) >= self.num_things_classes:
                raise ValueError(
                    f'gt_instances.labels must be thing labels in [0, '
                    f'{self.num_things_classes}), got {labels.tolist()}'
                )
            h, w = masks.shape[-2:]
            masks = F.pad(masks, (0, pad_w - w, 0, pad_h - h), value=0)
            all_things.append(
                InstanceData(
                    labels=labels.long(), masks=resize_masks(masks, size)
                )
            )

            if 'gt_sem_seg' not in sample:
                raise ValueError(
                    'K-Net panoptic training needs gt_sem_seg in every '
                    'data sample (LoadPanopticAnnotations(with_seg=True))'
                )
            sem = sample.gt_sem_seg.sem_seg[0].to(device)
            h, w = sem.shape[-2:]
            sem = F.pad(
                sem, (0, pad_w - w, 0, pad_h - h), value=self.ignore_index
            )
            stuff_labels, stuff_masks = stuff_masks_from_sem_seg(
                sem, self.num_things_classes, num_classes, self.ignore_index
            )
            all_stuff.append(
                InstanceData(
                    labels=stuff_labels,
                    masks=resize_masks(stuff_masks, size),
                )
            )
        return all_things, all_stuff

    def loss(self, batch_inputs, batch_data_samples):
        """Losses of the kernel head and of every update stage.

        Returns:
            dict[str, Tensor]: ``loss_rpn_{mask,dice,rank,seg}`` and
            ``s{i}_{loss_cls,pos_acc,loss_mask,loss_dice,loss_rank}``.
        """
        things, stuff = self._gt_targets(batch_data_samples)
        x = self.extract_feat(batch_inputs)
        losses, (kernels, feats, mask_preds) = self.rpn_head.loss_and_predict(
            x, things, stuff
        )
        losses.update(
            self.roi_head.loss(feats, kernels, mask_preds, things, stuff)
        )
        return losses

    def predict_logits(self, batch_inputs):
        """The network part of :meth:`predict`: last-stage kernel outputs.

        Everything from the image batch to the last update stage, the part
        that ``sfseg.det.deploy`` exports to ONNX.

        Returns:
            tuple[Tensor]: cls_score (B, N+S, T+S) logits and mask_preds
            (B, N+S, h, w) logits, upsampled by the last stage's
            ``mask_upsample_stride`` (H/4 x W/4 in the configs).
        """
        x = self.extract_feat(batch_inputs)
        kernels, feats, mask_preds = self.rpn_head.predict(x)
        return self.roi_head.predict(feats, kernels, mask_preds)

    def predict(self, batch_inputs, batch_data_samples, rescale=True):
        """Panoptic results in ``pred_panoptic_seg`` of each sample."""
        cls_score, mask_preds = self.predict_logits(batch_inputs)
        return merge_panoptic(
            self.panoptic_fusion_head,
            cls_score,
            mask_preds,
            batch_data_samples,
            rescale=rescale,
        )

    def _forward(self, batch_inputs, batch_data_samples=None):
        """Raw outputs of every update stage (tensor mode, for FLOPs).

        Returns:
            list[tuple[Tensor]]: per stage cls_score (B, N+S, T+S) and
            mask logits (B, N+S, H/4, W/4).
        """
        x = self.extract_feat(batch_inputs)
        kernels, feats, mask_preds = self.rpn_head.predict(x)
        return self.roi_head(feats, kernels, mask_preds)
