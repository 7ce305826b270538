# K-Net (3 stages) on SF-STDC1: STDC1 + SFNet's aligned FPN (SFNeck: PPM
# on stride 32, FAM top-down), the "SF-STDCv1 + K-Net" model of the
# SFNet-Lite paper (Table 15). SFNeck returns (P4, P8, P16, PPM), all 256
# channels, in place of FPN's P2-P5; the K-Net heads are unchanged (their
# GroupNorm(32) needs channels divisible by 32).
#
# ImageNet weights: see ./knet-s3_stdc1-fpn_panoptic.py.
_base_ = './knet-s3_stdc1-fpn_panoptic.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='SFNeck',
        in_channels=[64, 256, 512, 1024],
        channels=256,
        fam_kernel_size=3,
        pool_scales=(1, 2, 3, 6),
        norm_cfg={{_base_.norm_cfg}},
    ),
)
