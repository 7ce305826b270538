"""SFNet-Lite decode head: one GD-FAM, two-level fusion, classifier."""

from mmcv.cnn import ConvModule
from mmseg.registry import MODELS

from ..layers import upsample_cat
from ..necks import SFLiteNeck
from ..utils import check_in_channels
from .decode_head import SFDecodeHead


@MODELS.register_module()
class SFLiteHead(SFDecodeHead):
    """SFNet-Lite head (official ``UperNetAlignHeadV2``, GD-FAM).

    ``(fused, p_1, ...) = SFLiteNeck(x)``; the extra laterals are
    upsampled to ``fused`` (bilinear, ``align_corners=True``), concatenated
    after it, and fed to a 3x3 conv-norm-act (``conv_last``) and the 1x1
    classifier. For ResNet-18
    select strides 4, 16 and 32 (``in_index=(0, 2, 3)``); the official
    model also builds a lateral for stride 32 and a deep-supervision
    branch that never run, which are left out here.

    Args:
        pool_scales (tuple[int]): PPM pooling sizes.
        fam_kernel_size (int): kernel of the GD-FAM flow conv.
        context (str): ``'ppm'`` or ``'conv'``.
        lateral_bias (bool): bias in the lateral 1x1 convs (official: yes).
        fuse_norm_cfg (dict, optional): norm of ``conv_last`` (default
            ``norm_cfg``). The official model keeps it plain BN under
            SyncBN training.
        **kwargs: ``BaseDecodeHead`` arguments (list ``in_channels`` /
            ``in_index``).

    Shape:
        - inputs: backbone features; selected levels N x C_i x H_i x W_i
        - output: N x num_classes x H_0 x W_0
    """

    def __init__(
        self,
        pool_scales=(1, 2, 3, 6),
        fam_kernel_size=3,
        context='ppm',
        lateral_bias=True,
        fuse_norm_cfg=None,
        **kwargs,
    ):
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('align_corners', True)
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(**kwargs)
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        self.fpn = SFLiteNeck(
            self.in_channels,
            self.channels,
            fam_kernel_size=fam_kernel_size,
            context=context,
            pool_scales=pool_scales,
            lateral_bias=lateral_bias,
            **conv_kwargs,
        )
        self.conv_last = ConvModule(
            (len(self.in_channels) - 1) * self.channels,
            self.channels,
            3,
            padding=1,
            **dict(conv_kwargs, norm_cfg=fuse_norm_cfg or self.norm_cfg),
        )

    def fuse(self, levels):
        """``conv_last`` over the levels upsampled to the finest and
        concatenated."""
        return self.conv_last(upsample_cat(levels))

    def forward(self, inputs):
        feats = self._transform_inputs(inputs)
        check_in_channels(self, feats)
        return self.cls_seg(self.fuse(self.fpn(feats)))
