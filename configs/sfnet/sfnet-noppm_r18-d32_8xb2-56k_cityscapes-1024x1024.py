# Table 8 ablation: FAMs without PPM (a 1x1 conv on stride 32 instead).
_base_ = './sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(decode_head=dict(context='conv'))
