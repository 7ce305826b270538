# SFNet-Lite-STDC1 (official AlignedSTDC1_SFV2_spatial_atten): STDC1 +
# SFLiteHead (GD-FAM between stride 4 and the PPM, plus stride 16).
_base_ = './sfnet-lite_r18.py'
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
    decode_head=dict(in_channels=[64, 512, 1024], in_index=[0, 2, 3]),
)
