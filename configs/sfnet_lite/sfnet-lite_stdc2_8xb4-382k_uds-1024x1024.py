# SFNet-Lite-STDC2 on UDS (official train_merged_sfnet_v2_stdc_v2.sh).
# Paper Table 7: 75.6 mIoU (UDS, 1024x2048).
_base_ = './sfnet-lite_stdc1_8xb4-382k_uds-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images
