# SFNet-Lite-STDC2 on BDD100K (official train_bdd_sfnet_v2_stdc_v2.sh).
# Paper Table 6: 59.4 mIoU (BDD val, 720x1280).
_base_ = './sfnet-lite_stdc1_8xb4-38k_bdd100k-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
auto_scale_lr = dict(base_batch_size=32)  # official 8 GPUs x 4 images
