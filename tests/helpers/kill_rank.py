"""Hooks for the fault tests.

``KillRankHook``: rank ``rank`` SIGKILLs itself at the end of iteration
``at`` (1-based) of the first attempt only (torchrun's
``TORCHELASTIC_RESTART_COUNT`` is 0), as an out-of-memory kill would. At
that point every rank has passed the previous checkpoint (rank 0 writes it
before joining this iteration's gradient all-reduce)."""

import os
import signal

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import DATASETS, HOOKS


@HOOKS.register_module()
class KillRankHook(Hook):
    def __init__(self, rank=1, at=3):
        self.rank, self.at = rank, at

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ):
        first = os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') == '0'
        if first and get_rank() == self.rank and runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class SignalRankHook(Hook):
    """Rank ``rank`` sends itself ``signal`` at the end of iteration ``at``
    (as slurm's warning signal reaches one task before the others)."""

    def __init__(self, rank=0, at=3, signal='SIGUSR1'):
        self.rank, self.at, self.signal = rank, at, signal

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):  # fmt: skip
        if get_rank() == self.rank and runner.iter + 1 == self.at:
            os.kill(os.getpid(), getattr(signal, self.signal))


@HOOKS.register_module()
class NaNLossHook(Hook):
    """Rank ``rank`` (every rank with None) turns its loss into NaN in
    iterations ``at`` (1-based), so its gradients are NaN; under DDP the
    all-reduce spreads them to every rank."""

    def __init__(self, at=(3,), rank=None):
        self.at, self.rank = tuple(at), rank

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = getattr(runner.model, 'module', runner.model)
        model.__dict__.pop('parse_losses', None)
        if runner.iter + 1 not in self.at:
            return
        if self.rank is not None and get_rank() != self.rank:
            return
        parse = model.parse_losses

        def nan_losses(losses):
            losses = {k: v * float('nan') if 'loss' in k else v
                      for k, v in losses.items()}  # fmt: skip
            return parse(losses)

        model.parse_losses = nan_losses


@DATASETS.register_module()
class GarbleAfterInit:
    """Wraps a dataset; once its list is loaded (``full_init``, before any
    sample is read), overwrites the image of sample ``index`` with garbage
    bytes, as a file that breaks during training."""

    def __init__(self, dataset, index):
        self.dataset, self.index = DATASETS.build(dataset), index

    @property
    def metainfo(self):
        return self.dataset.metainfo

    def full_init(self):
        self.dataset.full_init()
        path = self.dataset.get_data_info(self.index)['img_path']
        with open(path, 'wb') as f:
            f.write(b'garbage, not an image' * 50)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        return self.dataset[idx]
