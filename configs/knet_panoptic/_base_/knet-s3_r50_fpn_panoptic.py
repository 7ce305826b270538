# K-Net (3 update stages, 100 thing kernels) with ResNet-50 + FPN for COCO
# panoptic (80 things + 53 stuff), the official R50 recipe's model. Module
# names follow the official checkpoints, which load with strict=True.
custom_imports = dict(imports=['sfseg.det'], allow_failed_imports=False)

num_things_classes = 80
num_stuff_classes = 53
num_classes = num_things_classes + num_stuff_classes
num_stages = 3
num_proposals = 100
conv_kernel_size = 1
channels = 256

# Matching: mask costs only where no class scores exist yet (kernel head
# and stage 0); the focal class cost joins from stage 1 on.
mask_costs = [
    dict(type='DiceCost', weight=4.0, pred_act=True, naive_dice=False),
    dict(type='MaskCost', weight=1.0, pred_act=True),
]
assign_masks_only = dict(
    assigner=dict(type='HungarianAssigner', match_costs=mask_costs),
    sampler=dict(type='MaskPseudoSampler'),
    pos_weight=1,
)
assign_with_cls = dict(
    assigner=dict(
        type='HungarianAssigner',
        match_costs=[dict(type='FocalLossCost', weight=2.0), *mask_costs],
    ),
    sampler=dict(type='MaskPseudoSampler'),
    pos_weight=1,
)

loss_mask = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
loss_dice = dict(type='DiceLoss', loss_weight=4.0)
loss_rank = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)

model = dict(
    type='KNet',
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    mask_assign_stride=4,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        mask_pad_value=0,
        pad_seg=True,
        seg_pad_value=255,
    ),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=channels,
        start_level=0,
        add_extra_convs='on_input',
        num_outs=4,
    ),
    rpn_head=dict(
        type='ConvKernelHead',
        num_proposals=num_proposals,
        in_channels=channels,
        out_channels=channels,
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        conv_kernel_size=conv_kernel_size,
        feat_downsample_stride=2,
        num_loc_convs=1,
        num_seg_convs=1,
        conv_normal_init=True,
        kernel_init_std=1,
        use_binary=True,
        proposal_feats_with_obj=True,
        cat_stuff_mask=True,
        localization_fpn=dict(
            type='SemanticFPNWrapper',
            in_channels=channels,
            feat_channels=channels,
            out_channels=channels,
            start_level=0,
            end_level=3,
            upsample_times=2,
            positional_encoding=dict(
                type='SinePositionalEncoding',
                num_feats=channels // 2,
                normalize=True,
            ),
            cat_coors=False,
            cat_coors_level=3,
            fuse_by_cat=False,
            num_aux_convs=1,
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        ),
        loss_mask=loss_mask,
        loss_dice=loss_dice,
        loss_rank=loss_rank,
        loss_seg=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0,
        ),
    ),
    roi_head=dict(
        type='KernelIterHead',
        num_stages=num_stages,
        stage_loss_weights=[1] * num_stages,
        proposal_feature_channel=channels,
        num_proposals=num_proposals,
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_head=[
            dict(
                type='KernelUpdateHead',
                num_things_classes=num_things_classes,
                num_stuff_classes=num_stuff_classes,
                num_ffn_fcs=2,
                num_heads=8,
                num_cls_fcs=1,
                num_mask_fcs=1,
                feedforward_channels=2048,
                in_channels=channels,
                out_channels=channels,
                dropout=0.0,
                conv_kernel_size=conv_kernel_size,
                mask_upsample_stride=2,
                ffn_act_cfg=dict(type='ReLU', inplace=True),
                with_ffn=True,
                feat_transform_cfg=dict(
                    conv_cfg=dict(type='Conv2d'), act_cfg=None
                ),
                kernel_updator_cfg=dict(
                    type='KernelUpdator',
                    in_channels=channels,
                    feat_channels=channels,
                    out_channels=channels,
                    act_cfg=dict(type='ReLU', inplace=True),
                    norm_cfg=dict(type='LN'),
                ),
                loss_rank=loss_rank,
                loss_mask=loss_mask,
                loss_dice=loss_dice,
                loss_cls=dict(
                    type='FocalLoss',
                    use_sigmoid=True,
                    gamma=2.0,
                    alpha=0.25,
                    loss_weight=2.0,
                ),
            )
            for _ in range(num_stages)
        ],
    ),
    panoptic_fusion_head=dict(
        type='KNetFusionHead',
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        num_proposals=num_proposals,
    ),
    train_cfg=dict(
        rpn=assign_masks_only,
        rcnn=[assign_masks_only] + [assign_with_cls] * (num_stages - 1),
    ),
    test_cfg=dict(
        rpn=None,
        rcnn=None,
        panoptic=dict(
            panoptic_on=True,
            instance_on=False,
            overlap_thr=0.6,
            instance_score_thr=0.3,
            max_per_img=num_proposals,
            mask_thr=0.5,
        ),
    ),
)
