"""The multi-level fusion input of SFNet's heads."""

import torch
import torch.nn.functional as F


def upsample_cat(feats):
    """``feats[0]`` and the others upsampled to its size (bilinear,
    ``align_corners=True``), concatenated along channels (official
    ``UperNetAlignHead``: ``fusion_list`` before ``conv_last``).

    Shape:
        - feats: N x C_i x H_i x W_i, finest first
        - output: N x sum(C_i) x H_0 x W_0
    """
    size = feats[0].shape[2:]
    ups = [
        F.interpolate(x, size=size, mode='bilinear', align_corners=True)
        for x in feats[1:]
    ]
    return torch.cat([feats[0]] + ups, dim=1)
