_base_ = './sfnet_df1_8xb2-56k_cityscapes-1024x1024.py'
# DFNet v2 outputs strides 8, 16, 32, so the logits are at stride 8.
model = dict(backbone=dict(arch='v2'))
