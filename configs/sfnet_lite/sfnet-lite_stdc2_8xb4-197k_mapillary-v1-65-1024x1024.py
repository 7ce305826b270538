# SFNet-Lite-STDC2 on Mapillary v1.2, 65 classes (official
# train_mapillary_sfnet_v2_stdc_v2.sh). Paper Table 4: 45.8 mIoU.
_base_ = './sfnet-lite_stdc1_8xb4-197k_mapillary-v1-65-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images
