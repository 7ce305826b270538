"""K-Net's iterative head: a chain of kernel update stages."""

import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule, ModuleList

from .utils import assign_and_sample, build_assigner_sampler


@MODELS.register_module()
class KernelIterHead(BaseModule):
    """Runs ``num_stages`` :class:`KernelUpdateHead` stages (K-Net roi_head).

    Stage s takes the kernels, features and masks of stage s-1 (stage 0
    takes those of the kernel head) and returns refined ones. In training
    the N thing kernels of stage s are matched using the predictions of
    stage s-1 (masks upsampled to the assignment stride, and class scores
    from stage 1 on), while the losses use stage s outputs; stage s losses
    are logged as ``s{s}_loss_*`` and scaled by ``stage_loss_weights``.

    Args:
        num_stages (int): Number of update stages.
        stage_loss_weights (sequence[float]): One weight per stage.
        proposal_feature_channel (int): Channels of the kernels; checked
            against the update heads.
        num_proposals (int): N, number of thing kernels (the first N).
        num_things_classes (int): T.
        num_stuff_classes (int): S.
        assign_stages (int): Stages from this index on reuse the previous
            assignment instead of matching again.
        post_assign (bool): Match with the current stage's predictions
            instead of the previous stage's.
        mask_head (dict | list[dict]): Config of the update heads (one dict
            is repeated).
        train_cfg (list[dict], optional): One ``assigner``/``sampler``/
            ``pos_weight`` dict per stage; stage 0 (without ``post_assign``)
            may use mask costs only.
        test_cfg (dict, optional): Unused; the fusion head post-processes.
        init_cfg (dict, optional): Init config.

    Shape:
        - feats: (B, C, h, w)
        - kernels: (B, N+S, C, k, k)
        - mask_preds: (B, N+S, h, w)
        - predict output: cls_score (B, N+S, T+S) logits and mask_preds
          (B, N+S, h*u, w*u) logits, u = ``mask_upsample_stride``
    """

    def __init__(
        self,
        num_stages=3,
        stage_loss_weights=(1, 1, 1),
        proposal_feature_channel=256,
        num_proposals=100,
        num_things_classes=80,
        num_stuff_classes=53,
        assign_stages=5,
        post_assign=False,
        mask_head=None,
        train_cfg=None,
        test_cfg=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        if mask_head is None:
            raise ValueError('KernelIterHead needs a mask_head config')
        if len(stage_loss_weights) != num_stages:
            raise ValueError(
                f'stage_loss_weights has {len(stage_loss_weights)} '
                f'entries for {num_stages} stages'
            )
        if not isinstance(mask_head, (list, tuple)):
            mask_head = [mask_head] * num_stages
        if len(mask_head) != num_stages:
            raise ValueError(
                f'{len(mask_head)} mask_head configs for {num_stages} stages'
            )
        self.num_stages = num_stages
        self.stage_loss_weights = list(stage_loss_weights)
        self.proposal_feature_channel = proposal_feature_channel
        self.num_proposals = num_proposals
        self.num_things_classes = num_things_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_things_classes + num_stuff_classes
        self.assign_stages = assign_stages
        self.post_assign = post_assign
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        # mmengine's ModuleList forwards init_weights to the stages.
        self.mask_head = ModuleList(MODELS.build(h) for h in mask_head)
        for i, head in enumerate(self.mask_head):
            classes = (head.num_things_classes, head.num_stuff_classes)
            if classes != (num_things_classes, num_stuff_classes):
                raise ValueError(
                    f'mask_head[{i}] has (things, stuff) = {classes}, '
                    f'roi_head has ({num_things_classes}, '
                    f'{num_stuff_classes})'
                )
            if head.in_channels != proposal_feature_channel:
                raise ValueError(
                    f'mask_head[{i}].in_channels={head.in_channels} != '
                    f'proposal_feature_channel={proposal_feature_channel}'
                )

        self.assigners, self.samplers = [], []
        if train_cfg is not None:
            if len(train_cfg) != num_stages:
                raise ValueError(
                    f'train_cfg (rcnn) has {len(train_cfg)} entries for '
                    f'{num_stages} stages'
                )
            for stage, cfg in enumerate(train_cfg):
                assigner, sampler = build_assigner_sampler(
                    cfg,
                    self,
                    has_scores=stage > 0 or post_assign,
                    where=f'roi_head stage {stage}',
                )
                self.assigners.append(assigner)
                self.samplers.append(sampler)

    def _stage_forward(self, stage, feats, kernels, mask_preds):
        head = self.mask_head[stage]
        cls_score, mask_preds, kernels = head(feats, kernels, mask_preds)
        return (
            cls_score,
            mask_preds,
            kernels,
            self._upsample(stage, mask_preds),
        )

    def _upsample(self, stage, mask_preds):
        stride = self.mask_head[stage].mask_upsample_stride
        if stride == 1:
            return mask_preds
        return F.interpolate(
            mask_preds,
            scale_factor=stride,
            mode='bilinear',
            align_corners=False,
        )

    def predict(self, feats, kernels, mask_preds):
        """Class logits and upsampled mask logits of the last stage."""
        for stage in range(self.num_stages):
            cls_score, mask_preds, kernels = self.mask_head[stage](
                feats, kernels, mask_preds
            )
        return cls_score, self._upsample(self.num_stages - 1, mask_preds)

    def forward(self, feats, kernels, mask_preds):
        """Outputs of every stage: list of (cls_score, scaled mask_preds)."""
        outs = []
        for stage in range(self.num_stages):
            cls_score, mask_preds, kernels, scaled = self._stage_forward(
                stage, feats, kernels, mask_preds
            )
            outs.append((cls_score, scaled))
        return outs

    def loss(
        self, feats, kernels, mask_preds, batch_gt_things, batch_gt_stuff
    ):
        """Losses of all stages.

        Args:
            feats (Tensor): (B, C, h, w) from the kernel head.
            kernels (Tensor): (B, N+S, C, k, k) from the kernel head.
            mask_preds (Tensor): (B, N+S, h, w) from the kernel head.
            batch_gt_things, batch_gt_stuff (list[InstanceData]): GT at the
                assignment stride (see ``ConvKernelHead``).

        Returns:
            dict[str, Tensor]: ``s{i}_loss_cls``, ``s{i}_pos_acc``,
            ``s{i}_loss_mask``, ``s{i}_loss_dice``, ``s{i}_loss_rank``.
        """
        if not self.assigners:
            raise RuntimeError('KernelIterHead.loss needs a train_cfg')
        n, t = self.num_proposals, self.num_things_classes
        prev_masks = self._upsample(0, mask_preds).detach()
        prev_cls = None
        results = None
        losses = {}
        for stage in range(self.num_stages):
            cls_score, mask_preds, kernels, scaled = self._stage_forward(
                stage, feats, kernels, mask_preds
            )
            if self.post_assign:
                prev_masks, prev_cls = scaled.detach(), cls_score.detach()
            if stage < self.assign_stages or results is None:
                results = [
                    assign_and_sample(
                        self.assigners[stage],
                        self.samplers[stage],
                        prev_masks[i, :n],
                        things,
                        None if prev_cls is None else prev_cls[i, :n, :t],
                    )
                    for i, things in enumerate(batch_gt_things)
                ]
            head = self.mask_head[stage]
            targets = head.get_targets(
                results,
                batch_gt_things,
                batch_gt_stuff,
                self.train_cfg[stage].get('pos_weight', 1),
            )
            stage_losses = head.loss_by_feat(cls_score, scaled, *targets)
            weight = self.stage_loss_weights[stage]
            for key, value in stage_losses.items():
                if 'loss' in key:
                    value = value * weight
                losses[f's{stage}_{key}'] = value
            if not self.post_assign:
                prev_masks, prev_cls = scaled.detach(), cls_score.detach()
        return losses
