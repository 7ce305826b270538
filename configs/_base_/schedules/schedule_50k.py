# The paper's length (50k iterations at batch 16) with the optimiser of the
# official scripts: SGD momentum 0.9, weight decay 1e-4 on every parameter,
# poly decay with power 1.0 to zero (the scripts step it per epoch; here per
# iteration).
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=0,
        by_epoch=False,  # no 'end': the Runner ends it at max_iters
    )
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=50000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='SFCheckpointHook', by_epoch=False, interval=5000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
# Exact --resume: every rank's random streams go into the checkpoint, and
# checkpoints are written so that a kill never leaves a truncated one.
custom_hooks = [dict(type='SFRandomStateHook')]
