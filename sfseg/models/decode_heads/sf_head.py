"""SFNet decode head: aligned FPN with FAMs, 4-level fusion, classifier."""

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.utils import is_list_of
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ..layers import upsample_cat
from ..necks import SFNeck
from ..utils import check_in_channels
from .decode_head import SFDecodeHead
from .sf_dsn_head import SFDSNHead


@MODELS.register_module()
class SFHead(SFDecodeHead):
    """SFNet head (official ``UperNetAlignHead``).

    ``P = SFNeck(x)`` gives L aligned levels; every level is upsampled to
    the finest (bilinear, ``align_corners=True``), concatenated finest
    first, and fed to a 3x3 conv-norm-act (``conv_last``) and the 1x1
    classifier ``conv_seg`` (no dropout in the official model).

    With ``dsn_loss_decode`` set, each lateral level gets an
    :class:`SFDSNHead` on its carried sum; their losses are added in
    training (keys ``dsn{i}.*``) and they never run at inference.

    Args:
        pool_scales (tuple[int]): PPM pooling sizes.
        fam_levels (list[bool], optional): FAM on/off per lateral level.
        fam_kernel_size (int): kernel of the FAM flow conv.
        context (str): ``'ppm'`` or ``'conv'``.
        lateral_bias (bool): bias in the lateral 1x1 convs (official: yes).
        fuse_norm_cfg (dict, optional): norm of the fusion convs
            (``fpn_out`` and ``conv_last``; default ``norm_cfg``). The
            official model keeps them plain BN under SyncBN training.
        dsn_loss_decode (dict | list[dict], optional): loss(es) of the deep
            supervision branches; None disables them.
        **kwargs: ``BaseDecodeHead`` arguments; ``in_channels`` and
            ``in_index`` are lists (``input_transform='multiple_select'``).

    Shape:
        - inputs: backbone features; selected levels N x C_i x H_i x W_i
        - output: N x num_classes x H_0 x W_0 (finest selected level)
    """

    def __init__(
        self,
        pool_scales=(1, 2, 3, 6),
        fam_levels=None,
        fam_kernel_size=3,
        context='ppm',
        lateral_bias=True,
        dsn_loss_decode=None,
        fuse_norm_cfg=None,
        **kwargs,
    ):
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('align_corners', True)
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(**kwargs)
        if not isinstance(self.in_channels, (list, tuple)):
            raise TypeError(
                f'{type(self).__name__}: in_channels must be a '
                f'list, got {self.in_channels!r}'
            )
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        self.fpn = SFNeck(
            self.in_channels,
            self.channels,
            fam_levels=fam_levels,
            fam_kernel_size=fam_kernel_size,
            context=context,
            pool_scales=pool_scales,
            lateral_bias=lateral_bias,
            fpn_out_norm_cfg=fuse_norm_cfg,
            **conv_kwargs,
        )
        self.conv_last = ConvModule(
            len(self.in_channels) * self.channels,
            self.channels,
            3,
            padding=1,
            **dict(conv_kwargs, norm_cfg=fuse_norm_cfg or self.norm_cfg),
        )
        self.with_dsn = dsn_loss_decode is not None
        if self.with_dsn:
            if not (
                isinstance(dsn_loss_decode, dict)
                or is_list_of(dsn_loss_decode, dict)
            ):
                raise TypeError(
                    'dsn_loss_decode must be a dict or a list '
                    f'of dicts, got {dsn_loss_decode!r}'
                )
            self.dsn = nn.ModuleList(
                SFDSNHead(
                    in_channels=self.channels,
                    channels=self.channels,
                    num_classes=self.num_classes,
                    loss_decode=dsn_loss_decode,
                    sampler=kwargs.get('sampler'),
                    ignore_index=self.ignore_index,
                    align_corners=self.align_corners,
                    **conv_kwargs,
                )
                for _ in self.in_channels[:-1]
            )

    def fuse(self, levels):
        """``conv_last`` over the levels upsampled to the finest and
        concatenated (official ``fusion_list`` -> ``conv_last``)."""
        return self.conv_last(upsample_cat(levels))

    def _select(self, inputs):
        feats = self._transform_inputs(inputs)
        check_in_channels(self, feats)
        return feats

    def forward(self, inputs):
        levels = self.fpn(self._select(inputs))
        return self.cls_seg(self.fuse(levels))

    def loss(self, inputs, batch_data_samples, train_cfg):
        if not self.with_dsn:
            return super().loss(inputs, batch_data_samples, train_cfg)
        levels, sums = self.fpn.forward_with_sums(self._select(inputs))
        seg_logits = self.cls_seg(self.fuse(levels))
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        for level, (dsn, feat) in enumerate(zip(self.dsn, sums)):
            dsn_losses = dsn.loss_by_feat(dsn(feat), batch_data_samples)
            losses.update(add_prefix(dsn_losses, f'dsn{level}'))
        return losses
