# Table 9b ablation: 5x5 flow conv in every FAM (official: 3x3).
_base_ = './sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py'
model = dict(decode_head=dict(fam_kernel_size=5))
