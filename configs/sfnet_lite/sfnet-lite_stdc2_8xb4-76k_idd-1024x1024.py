# SFNet-Lite-STDC2 on IDD (official train_idd_sfnet_v2_stdc_v2.sh).
# Paper Table 5: 76.8 mIoU (IDD val, 1080x1920).
_base_ = './sfnet-lite_stdc1_8xb4-76k_idd-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images
