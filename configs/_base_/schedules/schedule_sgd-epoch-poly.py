# The optimiser and schedule of every official script (train.py +
# optimizer.py): SGD lr 0.01, momentum 0.9, weight decay 1e-4 on every
# parameter, poly power 1.0 stepped once per epoch (constant inside an
# epoch, base * (1 - (e + 1) / E) in 0-based epoch e, 0 in the last one).
# Defaults: Cityscapes fine at 8 GPUs x 2 images, 300 epochs of 186
# iterations (2,975 images padded to 372 per GPU); configs for other
# datasets or lengths set iters_per_epoch / max_epochs and max_iters.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
# The official global batch; `--auto-scale-lr` scales the learning rate by
# (GPUs x images per GPU) / base_batch_size. 8 x 4 configs set 32.
auto_scale_lr = dict(enable=False, base_batch_size=16)
# SFOptimWrapper: a NaN / inf gradient stops training before the step
# (nonfinite='skip' skips such steps instead, max_skips in a row)
optim_wrapper = dict(
    type='SFOptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    nonfinite='stop',
)
# tools/train.py wraps the training set in SFSampleGuard: an unreadable
# sample or a label id outside the classes stops training naming the file
# and index (on_bad='skip': replaced by a fixed other index, at most
# max_bad bad files)
sample_guard = dict(on_bad='raise', max_bad=20)
param_scheduler = [
    dict(type='SFEpochPolyLR', iters_per_epoch=186, max_epochs=300)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=55800, val_interval=5580)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='SFCheckpointHook', by_epoch=False, interval=5580),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
# Exact --resume: every rank's random streams go into the checkpoint, and
# checkpoints are written so that a kill never leaves a truncated one; on
# slurm, SIGUSR1 / SIGTERM checkpoint the current iteration and requeue.
custom_hooks = [
    dict(type='SFRandomStateHook'),
    dict(type='SFRequeueHook'),
    dict(type='SFCompileHook'),  # compile=True: the network, not the step
    dict(type='SFOfficialWeightsHook'),  # official files as load_from
]
