"""Training iterations timed, eager against ``compile``, in one process:
the same config, seed and batches, each iteration's wall time, loss and
dynamo's compiled frames and graph breaks so far."""

import copy
import time

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner


class IterationRecord(Hook):
    """Per training iteration: seconds, loss, compiled frames, graph
    breaks (dynamo's counters since the run began)."""

    def __init__(self):
        self.seconds, self.losses, self.frames, self.breaks = [], [], [], []
        self._start = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch, outputs):
        from torch._dynamo.utils import counters

        self.seconds.append(time.perf_counter() - self._start)
        self.losses.append(float(outputs['loss']))
        self.frames.append(counters['frames']['ok'])
        self.breaks.append(sum(counters['graph_break'].values()))


def record_training(cfg, compile_cfg, iters, work_dir):
    """Train ``cfg`` (a Config with an sfseg training set-up) for
    ``iters`` iterations without validation or checkpoints, with
    ``compile = compile_cfg``; -> :class:`IterationRecord`."""
    from torch._dynamo.utils import counters

    from sfseg.engine import compile_network

    cfg = copy.deepcopy(cfg)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.logger.interval = iters + 1
    cfg.work_dir = str(work_dir)
    cfg.compile = compile_cfg
    if cfg.get('visualizer'):  # mmengine keeps one per name per process
        cfg.visualizer.name = f'record_training_{time.monotonic_ns()}'
    compile_network(cfg)
    runner = Runner.from_cfg(cfg)
    record = IterationRecord()
    runner.register_hook(record, priority='LOWEST')
    torch._dynamo.reset()
    counters.clear()
    runner.train()
    return record
