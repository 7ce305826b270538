_base_ = './sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py'
model = dict(backbone=dict(stdc_type='STDCNet2'))
