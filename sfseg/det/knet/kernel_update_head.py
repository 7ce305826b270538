"""One K-Net kernel update stage: new kernels, class scores and masks."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmdet.models.losses import accuracy
from mmdet.registry import MODELS
from mmdet.utils import reduce_mean
from mmengine.model import BaseModule, bias_init_with_prob

from .utils import kernel_mask_losses, masked_feature_sum


def _fc_stack(channels, num_fcs, act_cfg):
    layers = nn.ModuleList()
    for _ in range(num_fcs):
        layers.append(nn.Linear(channels, channels, bias=False))
        layers.append(build_norm_layer(dict(type='LN'), channels)[1])
        layers.append(build_activation_layer(act_cfg))
    return layers


@MODELS.register_module()
class KernelUpdateHead(BaseModule):
    """Refines K kernels once from the masks they predicted (K-Net stage).

    1. ``feat_transform`` (1x1 conv) maps the features;
    2. each kernel gathers the sum of features under its binarised mask
       (``sigmoid(mask) > hard_mask_thr``);
    3. ``kernel_update_conv`` (:class:`KernelUpdator`) fuses gathered
       features and kernels;
    4. multi-head self-attention over the K kernels (+ residual, LN), then
       an FFN (+ residual, LN) give the object features;
    5. ``cls_fcs`` -> ``fc_cls`` give class logits; ``mask_fcs`` ->
       ``fc_mask`` give new dynamic kernels that convolve the features into
       new masks.

    ``loss_by_feat`` trains the stage with a sigmoid focal class loss
    (thing kernels on thing columns only, stuff kernel i on its own column
    only), BCE + dice on positive masks and a rank loss (softmax over the
    K kernels). Module names follow K-Net so official weights load.

    Args:
        num_things_classes (int): T.
        num_stuff_classes (int): S.
        num_classes (int, optional): Must equal T + S when given.
        num_ffn_fcs (int): Linear layers of the FFN.
        num_heads (int): Attention heads.
        num_cls_fcs (int): Linear-LN-act blocks before ``fc_cls``.
        num_mask_fcs (int): Linear-LN-act blocks before ``fc_mask``.
        feedforward_channels (int): Hidden width of the FFN.
        in_channels (int): C, channels of features and kernels.
        out_channels (int): Channels of ``fc_mask``; must equal C.
        dropout (float): Dropout in attention and FFN.
        act_cfg (dict): Activation of the fc stacks.
        ffn_act_cfg (dict): Activation of the FFN.
        conv_kernel_size (int): k, spatial size of the kernels.
        feat_transform_cfg (dict, optional): Extra ConvModule arguments of
            the 1x1 ``feat_transform`` (``kernel_size`` may be given); None
            skips it.
        hard_mask_thr (float): Mask probability above which a pixel is
            gathered.
        kernel_init (bool): normal(0, 0.01) init of ``fc_mask``.
        with_ffn (bool): Use the FFN.
        mask_upsample_stride (int): Ratio between the feature stride and
            the mask-assignment stride; the owner upsamples the masks by it.
        ignore_label (int): Ignored pixel label of the rank loss.
        kernel_updator_cfg (dict): Config of the kernel updator.
        loss_cls, loss_mask, loss_dice, loss_rank (dict): Loss configs;
            ``loss_cls`` must be a sigmoid loss, ``loss_rank`` may be None.
        init_cfg (dict, optional): Init config.

    Shape:
        - x: (B, C, h, w) features
        - kernels: (B, K, C, k, k)
        - mask_preds: (B, K, h', w') logits of the previous stage
        - outputs: cls_score (B, K, T+S), mask_preds (B, K, h, w) and
          kernels (B, K, C, k, k)
    """

    def __init__(
        self,
        num_things_classes=80,
        num_stuff_classes=53,
        num_classes=None,
        num_ffn_fcs=2,
        num_heads=8,
        num_cls_fcs=1,
        num_mask_fcs=1,
        feedforward_channels=2048,
        in_channels=256,
        out_channels=256,
        dropout=0.0,
        act_cfg=dict(type='ReLU', inplace=True),
        ffn_act_cfg=dict(type='ReLU', inplace=True),
        conv_kernel_size=1,
        feat_transform_cfg=dict(conv_cfg=dict(type='Conv2d'), act_cfg=None),
        hard_mask_thr=0.5,
        kernel_init=False,
        with_ffn=True,
        mask_upsample_stride=2,
        ignore_label=255,
        kernel_updator_cfg=dict(
            type='KernelUpdator',
            in_channels=256,
            feat_channels=256,
            out_channels=256,
            act_cfg=dict(type='ReLU', inplace=True),
            norm_cfg=dict(type='LN'),
        ),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=2.0,
        ),
        loss_mask=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0
        ),
        loss_dice=dict(type='DiceLoss', loss_weight=4.0),
        loss_rank=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1
        ),
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        total = num_things_classes + num_stuff_classes
        if num_classes is not None and num_classes != total:
            raise ValueError(
                f'KernelUpdateHead: num_classes={num_classes} but '
                f'num_things_classes + num_stuff_classes = {total}'
            )
        if out_channels != in_channels:
            raise ValueError(
                'KernelUpdateHead convolves its features with fc_mask '
                f'outputs, so out_channels ({out_channels}) must equal '
                f'in_channels ({in_channels})'
            )
        self.num_things_classes = num_things_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = total
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv_kernel_size = conv_kernel_size
        self.hard_mask_thr = hard_mask_thr
        self.kernel_init = kernel_init
        self.with_ffn = with_ffn
        self.mask_upsample_stride = mask_upsample_stride
        self.ignore_label = ignore_label

        self.loss_cls = MODELS.build(loss_cls)
        if not getattr(self.loss_cls, 'use_sigmoid', False):
            raise ValueError(
                'KernelUpdateHead has no background class; loss_cls must '
                'have use_sigmoid=True'
            )
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_rank = MODELS.build(loss_rank) if loss_rank else None

        embed_dims = in_channels * conv_kernel_size**2
        self.attention = MultiheadAttention(
            embed_dims, num_heads, attn_drop=dropout, batch_first=True
        )
        self.attention_norm = build_norm_layer(dict(type='LN'), embed_dims)[1]
        self.kernel_update_conv = MODELS.build(kernel_updator_cfg)
        if feat_transform_cfg is not None:
            cfg = dict(feat_transform_cfg)
            kernel_size = cfg.pop('kernel_size', 1)
            self.feat_transform = ConvModule(
                in_channels,
                in_channels,
                kernel_size,
                padding=kernel_size // 2,
                **cfg,
            )
        else:
            self.feat_transform = None
        if with_ffn:
            self.ffn = FFN(
                in_channels,
                feedforward_channels,
                num_ffn_fcs,
                act_cfg=ffn_act_cfg,
                ffn_drop=dropout,
            )
            self.ffn_norm = build_norm_layer(dict(type='LN'), in_channels)[1]
        self.cls_fcs = _fc_stack(in_channels, num_cls_fcs, act_cfg)
        self.fc_cls = nn.Linear(in_channels, self.num_classes)
        self.mask_fcs = _fc_stack(in_channels, num_mask_fcs, act_cfg)
        self.fc_mask = nn.Linear(in_channels, out_channels)

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is not None:
            return
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        nn.init.constant_(self.fc_cls.bias, bias_init_with_prob(0.01))
        if self.kernel_init:
            nn.init.normal_(self.fc_mask.weight, mean=0, std=0.01)

    def forward(self, x, kernels, mask_preds):
        batch_size, num_kernels = kernels.shape[:2]
        if self.feat_transform is not None:
            x = self.feat_transform(x)
        channels, h, w = x.shape[-3:]
        if mask_preds.shape[-2:] != (h, w):
            mask_preds = F.interpolate(
                mask_preds, (h, w), mode='bilinear', align_corners=False
            )
        hard_masks = (mask_preds.sigmoid() > self.hard_mask_thr).float()
        gathered = masked_feature_sum(hard_masks, x)

        # (B, K, C, k, k) -> (B, K, k*k, C): one token per kernel tap.
        kernels = kernels.reshape(batch_size, num_kernels, channels, -1)
        kernels = kernels.permute(0, 1, 3, 2)
        obj = self.kernel_update_conv(gathered.to(x.dtype), kernels)
        obj = obj.reshape(batch_size, num_kernels, -1)
        obj = self.attention_norm(self.attention(obj))
        obj = obj.reshape(batch_size, num_kernels, -1, channels)
        if self.with_ffn:
            obj = self.ffn_norm(self.ffn(obj))

        cls_feat = obj.sum(-2)
        for layer in self.cls_fcs:
            cls_feat = layer(cls_feat)
        cls_score = self.fc_cls(cls_feat)

        mask_feat = obj
        for layer in self.mask_fcs:
            mask_feat = layer(mask_feat)
        k = self.conv_kernel_size
        # (B, K, k*k, C) -> (B, K, C, k, k): one dynamic kernel per kernel.
        dyn = self.fc_mask(mask_feat).permute(0, 1, 3, 2)
        dyn = dyn.reshape(batch_size, num_kernels, channels, k, k)
        new_masks = self.mask_conv(x, dyn)

        new_kernels = obj.permute(0, 1, 3, 2).reshape(
            batch_size, num_kernels, channels, k, k
        )
        return cls_score, new_masks, new_kernels

    @staticmethod
    def mask_conv(x, kernels):
        """Each image's features convolved with its own dynamic kernels.

        One grouped convolution for the whole batch (groups = B).

        Shape:
            - x: (B, C, h, w)
            - kernels: (B, K, C, k, k), k odd
            - output: (B, K, h, w)
        """
        batch_size, channels, h, w = x.shape
        num_kernels, k = kernels.shape[1], kernels.shape[-1]
        return F.conv2d(
            x.reshape(1, batch_size * channels, h, w),
            kernels.reshape(batch_size * num_kernels, channels, k, k).to(
                x.dtype
            ),
            padding=k // 2,
            groups=batch_size,
        ).reshape(batch_size, num_kernels, h, w)

    def get_targets(
        self, sampling_results, batch_gt_things, batch_gt_stuff, pos_weight=1
    ):
        """Targets of the N thing kernels (matched) and S stuff kernels.

        Stuff kernel i always stands for class T+i: its target is the GT
        mask of that class when present, background otherwise.

        Args:
            sampling_results (list[MaskSamplingResult]): Matching of the N
                thing kernels per image.
            batch_gt_things (list[InstanceData]): ``labels``, ``masks``
                (G, h, w).
            batch_gt_stuff (list[InstanceData]): ``labels`` in [T, T+S),
                ``masks`` (S', h, w).
            pos_weight (float): Class-loss weight of matched thing kernels
                (``train_cfg.pos_weight``; <= 0 means 1).

        Returns:
            tuple[Tensor]: labels (B, N+S) with T+S as background,
            label_weights (B, N+S, T+S), mask_targets (B, N+S, h, w).
        """
        t, s, nc = (
            self.num_things_classes,
            self.num_stuff_classes,
            (self.num_classes),
        )
        labels, label_weights, mask_targets = [], [], []
        for res, things, stuff in zip(
            sampling_results, batch_gt_things, batch_gt_stuff
        ):
            num_props = res.pos_inds.numel() + res.neg_inds.numel()
            h, w = things.masks.shape[-2:]
            device = things.masks.device
            lab = torch.full(
                (num_props + s,), nc, dtype=torch.long, device=device
            )
            weight = torch.zeros(num_props + s, nc, device=device)
            target = torch.zeros(num_props + s, h, w, device=device)
            # Thing kernels learn thing columns only; all of them count.
            weight[:num_props, :t] = 1.0
            if res.pos_inds.numel():
                lab[res.pos_inds] = things.labels[res.pos_assigned_gt_inds]
                weight[res.pos_inds, :t] = pos_weight if pos_weight > 0 else 1
                target[res.pos_inds] = res.pos_gt_masks.float()
            # Stuff kernel i learns only its own column T+i.
            weight[num_props:, t:] = torch.eye(s, device=device)
            rows = num_props + stuff.labels - t
            lab[rows] = stuff.labels
            target[rows] = stuff.masks.float()
            labels.append(lab)
            label_weights.append(weight)
            mask_targets.append(target)
        return (
            torch.stack(labels),
            torch.stack(label_weights),
            torch.stack(mask_targets),
        )

    def loss_by_feat(self, cls_score, mask_preds, labels, weights, targets):
        """Class, mask, dice and rank losses plus ``pos_acc`` of one stage.

        Args:
            cls_score (Tensor): (B, K, T+S) logits.
            mask_preds (Tensor): (B, K, h, w) logits at the target size.
            labels, weights, targets: From :meth:`get_targets`.
        """
        pos = labels < self.num_classes
        avg_factor = reduce_mean(pos.sum().float()).clamp_(min=1.0)
        flat_cls = cls_score.float().reshape(-1, self.num_classes)
        flat_labels = labels.reshape(-1)
        losses = dict(
            loss_cls=self.loss_cls(
                flat_cls,
                flat_labels,
                weights.reshape(-1, self.num_classes),
                avg_factor=avg_factor,
            ),
            pos_acc=accuracy(
                flat_cls[pos.reshape(-1)], flat_labels[pos.reshape(-1)]
            ),
        )
        loss_mask, loss_dice, loss_rank = kernel_mask_losses(
            mask_preds,
            targets,
            pos,
            self.loss_mask,
            self.loss_dice,
            self.loss_rank,
            self.ignore_label,
        )
        losses['loss_mask'] = loss_mask
        losses['loss_dice'] = loss_dice
        if loss_rank is not None:
            losses['loss_rank'] = loss_rank
        return losses
