# SFNet-Lite-R18 (official DeepR18_SFV2_deeply_dsn_FA_Atten): ResNet-18-D +
# SFLiteHead (one GD-FAM between stride 4 and the PPM, plus stride 16).
_base_ = './sfnet_r18.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='SFLiteHead',
        in_channels=[64, 256, 512],
        in_index=[0, 2, 3],
        channels=128,
        pool_scales=(1, 2, 3, 6),
        fam_kernel_size=3,
        num_classes=19,
        norm_cfg={{_base_.norm_cfg}},
        # official: conv_last is never synced
        fuse_norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True,
        # official CriterionSFNet: OhemCrossEntropy2dTensor(0.7, 100,000)
        loss_decode=dict(
            type='SFOhemCrossEntropy',
            thresh=0.7,
            min_kept=100000,
            loss_weight=1.0,
        ),
    )
)
