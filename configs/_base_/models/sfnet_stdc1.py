# SFNet-STDC1 (official AlignedSTDC1): STDC1 (with its stride-4 output) +
# SFHead with fpn_dim 64 (3 FAMs).
_base_ = './sfnet_r18.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SFSTDCNet',
        stdc_type='STDCNet1',
        out_indices=(1, 2, 3, 4),
        norm_cfg={{_base_.norm_cfg}},
        # official: only the stride-2 depthwise BNs are synced, not ConvX
        convx_norm_cfg=dict(type='BN', requires_grad=True),
        # STDCNet813_73.91.tar / STDCNet1446_76.47.tar from pretrained/
        init_cfg=dict(type='SFImageNetInit'),
    ),
    decode_head=dict(in_channels=[64, 256, 512, 1024], channels=64),
)
