"""K-Net's kernel head: initial proposal kernels, masks and stuff kernels."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule, bias_init_with_prob, normal_init

from .utils import (
    assign_and_sample,
    build_assigner_sampler,
    kernel_mask_losses,
    masked_feature_sum,
)


@MODELS.register_module()
class ConvKernelHead(BaseModule):
    """Static proposal kernels plus a semantic branch (K-Net's RPN).

    ``localization_fpn`` fuses the pyramid into localisation and semantic
    features at stride s (8 in K-Net). Then

    - ``loc_convs`` -> ``init_kernels`` (N learned 1x1 kernels) give the
      initial thing masks;
    - ``seg_convs`` -> ``conv_seg`` give per-class semantic logits;
    - features ``x = loc + sem`` feed the update heads;
    - each proposal kernel = its learned weight + the sum of ``x`` under
      its binarised mask;
    - the stuff rows of ``conv_seg`` join as S extra kernels with their
      semantic logits as masks (``cat_stuff_mask``).

    In training the N thing masks are upsampled by
    ``feat_downsample_stride`` (to the mask-assignment stride), matched to
    the GT things and trained with BCE, dice and rank losses; the
    semantic logits get a sigmoid focal loss against stuff + matched thing
    labels (``loss_rpn_*``). Names of modules follow K-Net so official
    weights load.

    Args:
        num_proposals (int): N, number of thing kernels.
        in_channels (int): Channels of the pyramid and the fused features.
        out_channels (int): Channels of the kernels.
        num_things_classes (int): T.
        num_stuff_classes (int): S.
        localization_fpn (dict): Config of the fusion neck
            (``SemanticFPNWrapper`` with one aux conv).
        conv_kernel_size (int): Spatial size of the kernels; the stuff
            kernels need 1.
        norm_cfg (dict): Norm of ``loc_convs`` / ``seg_convs``.
        num_loc_convs (int): 1x1 conv-norm-act blocks before the kernels.
        num_seg_convs (int): Same for the semantic branch.
        feat_downsample_stride (int): Ratio between the feature stride and
            the mask-assignment stride (masks are upsampled by it).
        conv_normal_init (bool): normal(0, 0.01) init of the branch convs.
        kernel_init_std (float): Std of the normal init of the kernels.
        xavier_init_kernel (bool): Xavier init of the kernels instead.
        use_binary (bool): Gather with hard (0/1) masks; else with
            ``sigmoid * (sigmoid > 0.5)``.
        proposal_feats_with_obj (bool): Add the gathered features to the
            learned kernels.
        cat_stuff_mask (bool): Append the stuff kernels and masks.
        ignore_label (int): Pixel label ignored by the rank loss.
        loss_mask, loss_dice, loss_rank, loss_seg (dict): Loss configs;
            ``loss_seg`` must be a sigmoid loss (no background channel).
        train_cfg (dict, optional): ``assigner``, ``sampler``,
            ``pos_weight``; mask costs only (no class scores exist here).
        test_cfg (dict, optional): Unused.
        num_classes (int, optional): Ignored. ``TwoStageDetector`` forces
            ``num_classes=1`` on its RPN head; classes come from
            ``num_things_classes + num_stuff_classes``.
        init_cfg (dict, optional): Init config.

    Shape:
        - x: pyramid of (B, in_channels, H/4 * 2**-i, W/4 * 2**-i)
        - kernels: (B, N(+S), out_channels, k, k)
        - feats: (B, out_channels, H/s, W/s)
        - mask_preds: (B, N(+S), H/s, W/s) logits
        - seg_preds: (B, T+S, H/s, W/s) logits
    """

    def __init__(
        self,
        num_proposals=100,
        in_channels=256,
        out_channels=256,
        num_things_classes=80,
        num_stuff_classes=53,
        localization_fpn=None,
        conv_kernel_size=1,
        norm_cfg=dict(type='GN', num_groups=32),
        num_loc_convs=1,
        num_seg_convs=1,
        feat_downsample_stride=2,
        conv_normal_init=True,
        kernel_init_std=1.0,
        xavier_init_kernel=False,
        use_binary=True,
        proposal_feats_with_obj=True,
        cat_stuff_mask=True,
        ignore_label=255,
        loss_mask=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0
        ),
        loss_dice=dict(type='DiceLoss', loss_weight=4.0),
        loss_rank=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1
        ),
        loss_seg=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0,
        ),
        train_cfg=None,
        test_cfg=None,
        num_classes=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        if localization_fpn is None:
            raise ValueError('ConvKernelHead needs a localization_fpn config')
        if cat_stuff_mask and conv_kernel_size != 1:
            raise ValueError(
                'cat_stuff_mask reuses the 1x1 conv_seg weights as kernels; '
                f'it needs conv_kernel_size=1, got {conv_kernel_size}'
            )
        if in_channels != out_channels:
            # x = loc + sem feeds the kernels, so both widths must agree.
            raise ValueError(
                f'ConvKernelHead needs in_channels == out_channels, got '
                f'{in_channels} and {out_channels}'
            )
        self.num_proposals = num_proposals
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_things_classes = num_things_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_things_classes + num_stuff_classes
        self.conv_kernel_size = conv_kernel_size
        self.feat_downsample_stride = feat_downsample_stride
        self.conv_normal_init = conv_normal_init
        self.kernel_init_std = kernel_init_std
        self.xavier_init_kernel = xavier_init_kernel
        self.use_binary = use_binary
        self.proposal_feats_with_obj = proposal_feats_with_obj
        self.cat_stuff_mask = cat_stuff_mask
        self.ignore_label = ignore_label
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_rank = MODELS.build(loss_rank) if loss_rank else None
        self.loss_seg = MODELS.build(loss_seg)
        if not getattr(self.loss_seg, 'use_sigmoid', False):
            raise ValueError(
                'ConvKernelHead predicts T+S channels without background; '
                'loss_seg must have use_sigmoid=True'
            )
        if train_cfg is not None:
            self.assigner, self.sampler = build_assigner_sampler(
                train_cfg, self, has_scores=False, where='rpn_head'
            )

        self.localization_fpn = MODELS.build(localization_fpn)
        self.init_kernels = nn.Conv2d(
            out_channels,
            num_proposals,
            conv_kernel_size,
            padding=conv_kernel_size // 2,
            bias=False,
        )
        self.conv_seg = nn.Conv2d(out_channels, self.num_classes, 1)
        self.loc_convs = nn.ModuleList(
            ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg)
            for _ in range(num_loc_convs)
        )
        self.seg_convs = nn.ModuleList(
            ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg)
            for _ in range(num_seg_convs)
        )

    def init_weights(self):
        super().init_weights()
        if self.feat_downsample_stride > 1 and self.conv_normal_init:
            for m in [*self.loc_convs.modules(), *self.seg_convs.modules()]:
                if isinstance(m, nn.Conv2d):
                    normal_init(m, std=0.01)
        normal_init(self.conv_seg, std=0.01, bias=bias_init_with_prob(0.01))
        if self.xavier_init_kernel:
            nn.init.xavier_uniform_(self.init_kernels.weight)
        else:
            normal_init(self.init_kernels, std=self.kernel_init_std)

    def forward(self, x):
        """Thing kernels and masks before the stuff kernels are appended.

        Returns:
            tuple[Tensor]: kernels (B, N, C, k, k), feats (B, C, h, w),
            mask_preds (B, N, h, w) and seg_preds (B, T+S, h, w).
        """
        outs = self.localization_fpn(x)
        if len(outs) < 2:
            raise ValueError(
                'localization_fpn must return localisation and semantic '
                'features (set num_aux_convs=1)'
            )
        loc_feats, sem_feats = outs[0], outs[1]
        for conv in self.loc_convs:
            loc_feats = conv(loc_feats)
        for conv in self.seg_convs:
            sem_feats = conv(sem_feats)
        mask_preds = self.init_kernels(loc_feats)
        seg_preds = self.conv_seg(sem_feats)
        feats = loc_feats + sem_feats

        batch_size = feats.shape[0]
        kernels = self.init_kernels.weight[None].expand(
            batch_size, *self.init_kernels.weight.shape
        )
        if self.proposal_feats_with_obj:
            probs = mask_preds.sigmoid()
            keep = (probs > 0.5).float()
            weights = keep if self.use_binary else keep * probs
            obj_feats = masked_feature_sum(weights, feats).to(kernels.dtype)
            kernels = kernels + obj_feats[..., None, None]
        return kernels, feats, mask_preds, seg_preds

    def _append_stuff(self, kernels, mask_preds, seg_preds):
        if not self.cat_stuff_mask:
            return kernels, mask_preds
        t = self.num_things_classes
        stuff_kernels = self.conv_seg.weight[t:]
        stuff_kernels = stuff_kernels[None].expand(
            kernels.shape[0], *stuff_kernels.shape
        )
        return (
            torch.cat([kernels, stuff_kernels.to(kernels.dtype)], dim=1),
            torch.cat([mask_preds, seg_preds[:, t:]], dim=1),
        )

    def predict(self, x):
        """Kernels, features and masks for the update heads (inference).

        Returns:
            tuple[Tensor]: kernels (B, N+S, C, k, k), feats (B, C, h, w) and
            mask_preds (B, N+S, h, w).
        """
        kernels, feats, mask_preds, seg_preds = self(x)
        kernels, mask_preds = self._append_stuff(
            kernels, mask_preds, seg_preds
        )
        return kernels, feats, mask_preds

    def loss_and_predict(self, x, batch_gt_things, batch_gt_stuff):
        """Losses of the initial masks and the inputs of the update heads.

        Args:
            x (tuple[Tensor]): Pyramid features.
            batch_gt_things (list[InstanceData]): Per image ``labels`` (G,)
                in [0, T) and soft ``masks`` (G, H/a, W/a) at the
                mask-assignment stride a.
            batch_gt_stuff (list[InstanceData]): Per image ``labels`` in
                [T, T+S) and soft ``masks`` at stride a.

        Returns:
            tuple: ``(losses, (kernels, feats, mask_preds))`` with the
            outputs as in :meth:`predict`.
        """
        if self.train_cfg is None:
            raise RuntimeError('ConvKernelHead.loss needs a train_cfg')
        kernels, feats, mask_preds, seg_preds = self(x)
        scaled_masks, scaled_seg = mask_preds, seg_preds
        if self.feat_downsample_stride > 1:
            scaled_masks, scaled_seg = (
                F.interpolate(
                    p,
                    scale_factor=self.feat_downsample_stride,
                    mode='bilinear',
                    align_corners=False,
                )
                for p in (mask_preds, seg_preds)
            )
        targets = self.get_targets(
            scaled_masks, batch_gt_things, batch_gt_stuff
        )
        losses = self.loss_by_feat(scaled_masks, scaled_seg, *targets)
        outs = self._append_stuff(kernels, mask_preds, seg_preds)
        return losses, (outs[0], feats, outs[1])

    def get_targets(self, mask_preds, batch_gt_things, batch_gt_stuff):
        """Match the thing kernels and build mask and semantic targets.

        Returns:
            tuple[Tensor]: mask_targets (B, N, h, w), pos (B, N) bool and
            seg_targets (B, h, w) long with T+S as background.
        """
        mask_targets = torch.zeros_like(mask_preds, dtype=torch.float)
        pos = mask_preds.new_zeros(mask_preds.shape[:2], dtype=torch.bool)
        seg_targets = mask_preds.new_full(
            (mask_preds.shape[0], *mask_preds.shape[-2:]),
            self.num_classes,
            dtype=torch.long,
        )
        for i, (things, stuff) in enumerate(
            zip(batch_gt_things, batch_gt_stuff)
        ):
            for label, mask in zip(stuff.labels, stuff.masks):
                seg_targets[i][mask > 0] = label
            result = assign_and_sample(
                self.assigner, self.sampler, mask_preds[i], things
            )
            inds = result.pos_inds
            if inds.numel() == 0:
                continue
            gt_masks = result.pos_gt_masks.float()
            gt_labels = things.labels[result.pos_assigned_gt_inds]
            pos[i, inds] = True
            mask_targets[i, inds] = gt_masks
            for label, mask in zip(gt_labels, gt_masks):
                seg_targets[i][mask > 0] = label
        return mask_targets, pos, seg_targets

    def loss_by_feat(self, mask_preds, seg_preds, mask_targets, pos, seg_tgt):
        """``loss_rpn_{mask,dice,rank,seg}`` from upsampled predictions.

        Args:
            mask_preds (Tensor): (B, N, h, w) thing mask logits.
            seg_preds (Tensor): (B, T+S, h, w) semantic logits.
            mask_targets, pos, seg_tgt: From :meth:`get_targets`.
        """
        loss_mask, loss_dice, loss_rank = kernel_mask_losses(
            mask_preds,
            mask_targets,
            pos,
            self.loss_mask,
            self.loss_dice,
            self.loss_rank,
            self.ignore_label,
        )
        losses = dict(loss_rpn_mask=loss_mask, loss_rpn_dice=loss_dice)
        if loss_rank is not None:
            losses['loss_rpn_rank'] = loss_rank
        flat_seg = seg_preds.float().permute(0, 2, 3, 1)
        flat_seg = flat_seg.reshape(-1, self.num_classes)
        flat_tgt = seg_tgt.reshape(-1)
        num_fg = (flat_tgt < self.num_classes).sum().float().clamp(min=1.0)
        losses['loss_rpn_seg'] = self.loss_seg(
            flat_seg, flat_tgt, avg_factor=num_fg
        )
        return losses
