"""Semantic-FPN style fusion of a feature pyramid at one stride (K-Net)."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule, normal_init


@MODELS.register_module()
class SemanticFPNWrapper(BaseModule):
    """Brings pyramid levels to one stride, sums them, and predicts features.

    Used by K-Net's kernel head as ``localization_fpn``. Every level passes
    through 3x3 conv-norm-act blocks until it reaches the output level
    ``out_level = end_level - upsample_times``:

    - level 0 below ``out_level``: ``out_level`` stride-2 convs
      (level 0 equal to ``out_level``: one conv);
    - level ``i >= 1``: ``i`` convs, a x2 bilinear upsample after each of
      the first ``i - out_level`` convs (the Panoptic-FPN semantic branch).

    The level ``cat_coors_level`` first gets the sine positional encoding
    added (and/or two coordinate channels concatenated). The levels are
    summed (or concatenated with ``fuse_by_cat``); ``conv_pred`` and each
    of ``aux_convs`` (1x1 conv-norm-act) then give one output each. K-Net
    uses the first output as localisation and the second as semantic
    features. Module names follow K-Net so official weights load.

    Args:
        in_channels (int): Channels of every input level.
        feat_channels (int): Channels inside the level branches.
        out_channels (int): Channels of each output.
        start_level (int): First input level used. Only 0 is supported.
        end_level (int): Last input level used (inclusive).
        upsample_times (int): Number of x2 upsamples of ``end_level``.
        positional_encoding (dict, optional): Config of a positional
            encoding (e.g. ``SinePositionalEncoding``) whose output has
            ``in_channels`` channels.
        cat_coors (bool): Concatenate normalised x/y coordinates.
        cat_coors_level (int): Level that gets the positional encoding and
            the coordinates.
        fuse_by_cat (bool): Concatenate the levels instead of summing.
        with_pred (bool): Build ``conv_pred``; without it the first output
            is the fused map itself.
        num_aux_convs (int): Number of extra 1x1 output branches.
        act_cfg (dict): Activation inside the level branches.
        out_act_cfg (dict): Activation of the output branches.
        conv_cfg (dict, optional): Conv config.
        norm_cfg (dict, optional): Norm config (GN in K-Net).
        init_cfg (dict, optional): Overrides the normal(0, 0.01) init.

    Shape:
        - inputs: sequence of (B, in_channels, H_i, W_i), level i at stride
          2**i relative to level 0
        - output: list of ``with_pred + num_aux_convs`` tensors
          (B, out_channels, H_o, W_o) at level ``out_level``'s size
    """

    def __init__(
        self,
        in_channels,
        feat_channels,
        out_channels,
        start_level=0,
        end_level=3,
        upsample_times=2,
        positional_encoding=None,
        cat_coors=False,
        cat_coors_level=3,
        fuse_by_cat=False,
        with_pred=True,
        num_aux_convs=0,
        act_cfg=dict(type='ReLU', inplace=True),
        out_act_cfg=dict(type='ReLU'),
        conv_cfg=None,
        norm_cfg=None,
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        if start_level != 0:
            raise ValueError(
                f'SemanticFPNWrapper supports start_level=0 only, got '
                f'{start_level}'
            )
        if not 0 <= upsample_times <= end_level:
            raise ValueError(
                f'upsample_times must be in [0, end_level={end_level}], '
                f'got {upsample_times}'
            )
        if not with_pred and num_aux_convs == 0:
            raise ValueError('need with_pred=True or num_aux_convs > 0')
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.out_channels = out_channels
        self.start_level = start_level
        self.end_level = end_level
        self.upsample_times = upsample_times
        self.out_level = end_level - upsample_times
        self.cat_coors = cat_coors
        self.cat_coors_level = cat_coors_level
        self.fuse_by_cat = fuse_by_cat
        self.with_pred = with_pred
        self.num_aux_convs = num_aux_convs
        self.positional_encoding = (
            MODELS.build(positional_encoding) if positional_encoding else None
        )

        def conv(in_ch, stride=1):
            return ConvModule(
                in_ch,
                feat_channels,
                3,
                stride=stride,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                inplace=False,
            )

        self.convs_all_levels = nn.ModuleList()
        for level in range(start_level, end_level + 1):
            in_ch = in_channels + 2 * (cat_coors and level == cat_coors_level)
            branch = nn.Sequential()
            if level == 0:
                num_down = self.out_level
                if num_down == 0:
                    branch.add_module('conv0', conv(in_ch))
                for j in range(num_down):
                    branch.add_module(
                        f'conv{j}', conv(in_ch if j == 0 else feat_channels, 2)
                    )
            else:
                if level < self.out_level:
                    raise ValueError(
                        f'level {level} lies below the output level '
                        f'{self.out_level}; only level 0 can be downsampled'
                    )
                for j in range(level):
                    branch.add_module(
                        f'conv{j}', conv(in_ch if j == 0 else feat_channels)
                    )
                    if j < level - self.out_level:
                        branch.add_module(
                            f'upsample{j}',
                            nn.Upsample(
                                scale_factor=2,
                                mode='bilinear',
                                align_corners=False,
                            ),
                        )
            self.convs_all_levels.append(branch)

        fused = feat_channels * (
            len(self.convs_all_levels) if fuse_by_cat else 1
        )

        def out_conv():
            return ConvModule(
                fused,
                out_channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=out_act_cfg,
            )

        if with_pred:
            self.conv_pred = out_conv()
        self.aux_convs = nn.ModuleList(
            out_conv() for _ in range(num_aux_convs)
        )

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    normal_init(m, std=0.01)

    @staticmethod
    def _coord_feats(x):
        b, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        return torch.stack([grid_x, grid_y])[None].expand(b, -1, -1, -1)

    def forward(self, inputs):
        if len(inputs) <= self.end_level:
            raise ValueError(
                f'SemanticFPNWrapper uses levels up to {self.end_level}, '
                f'got {len(inputs)} input levels'
            )
        level_feats = []
        for level, branch in zip(
            range(self.start_level, self.end_level + 1), self.convs_all_levels
        ):
            x = inputs[level]
            if level == self.cat_coors_level:
                if self.positional_encoding is not None:
                    no_pad = x.new_zeros(
                        (x.shape[0], *x.shape[-2:]), dtype=torch.bool
                    )
                    x = x + self.positional_encoding(no_pad).to(x.dtype)
                if self.cat_coors:
                    x = torch.cat([x, self._coord_feats(x)], dim=1)
            level_feats.append(branch(x))
        if self.fuse_by_cat:
            fused = torch.cat(level_feats, dim=1)
        else:
            fused = sum(level_feats)
        outs = [self.conv_pred(fused) if self.with_pred else fused]
        outs.extend(conv(fused) for conv in self.aux_convs)
        return outs
