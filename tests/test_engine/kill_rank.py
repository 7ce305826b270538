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
from mmseg.registry import HOOKS


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
