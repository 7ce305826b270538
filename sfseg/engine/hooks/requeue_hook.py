"""Stop on slurm's warning signal with a checkpoint, and requeue the job.

slurm sends SIGTERM before it kills a job that hits its time limit or is
preempted, and ``sbatch --signal=USR1@120`` sends SIGUSR1 two minutes
before the limit. ``SFRequeueHook`` turns either into: every rank finishes
the current iteration, a checkpoint of it is written, rank 0 asks slurm to
requeue the job (``scontrol requeue $SLURM_JOB_ID``) and the processes
exit; the requeued job starts ``tools/slurm_train.sh`` again, whose
``--resume`` continues from that checkpoint.

The signal reaches the tasks at slightly different times, so the ranks
agree through one all-reduce of a flag per iteration (one number: about
0.5 ms between 2 gloo CPU processes on a 2-core machine, next to training
iterations of a second or more). It acts only under slurm without torchrun:
torchrun stops its workers with SIGTERM after a peer failed, and an
all-reduce with a dead peer would block.
"""

import os
import signal
import subprocess

import torch
from mmengine.dist import all_reduce, get_rank, is_distributed
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from sfseg.utils.user_errors import SFSegUserError

from .rng_state_hook import SFRandomStateHook


class TrainingStopped(SFSegUserError):
    """Training stopped on a signal after writing a checkpoint."""


@HOOKS.register_module()
class SFRequeueHook(Hook):
    """Checkpoint and exit (and requeue) on ``signals`` under slurm.

    Args:
        signals (Sequence[str]): signal names (default SIGUSR1, SIGTERM).
        requeue (bool): ask slurm to requeue the job (rank 0).
        only_under_slurm (bool): act only when ``SLURM_JOB_ID`` is set and
            torchrun is not the launcher (default; the tests turn it off).
    """

    priority = 'LOWEST'  # after the checkpoint hook of the same iteration

    def __init__(
        self,
        signals=('SIGUSR1', 'SIGTERM'),
        requeue=True,
        only_under_slurm=True,
    ):
        self.signals = [getattr(signal, name) for name in signals]
        self.requeue = requeue
        self.only_under_slurm = only_under_slurm
        self.received = None
        self.active = False

    @staticmethod
    def under_slurm():
        return 'SLURM_JOB_ID' in os.environ and (
            'TORCHELASTIC_RESTART_COUNT' not in os.environ
        )

    def _handler(self, signum, frame):
        self.received = signum

    def before_train(self, runner):
        self.active = self.under_slurm() or not self.only_under_slurm
        if self.active:
            for sig in self.signals:
                signal.signal(sig, self._handler)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):  # fmt: skip
        if not self.active:
            return
        flag = torch.tensor([0 if self.received is None else 1])
        if is_distributed():
            all_reduce(flag, op='max')
        if not flag.item():
            return
        step = runner.iter + 1
        path = self._checkpoint(runner, step)
        name = (
            signal.Signals(self.received).name
            if self.received
            else 'another rank'
        )
        requeued = self._requeue() if self.requeue else False
        message = (
            f'stopped after iteration {step} on {name}: checkpoint {path}'
            + (
                '; job requeued (it resumes from there)'
                if requeued
                else '; resume with --resume'
            )
        )
        print_log(message, logger='current')
        raise TrainingStopped(message)

    @staticmethod
    def _checkpoint(runner, step):
        hook = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None
        )
        if hook is None:
            path = os.path.join(runner.work_dir, f'iter_{step}.pth')
            runner.save_checkpoint(runner.work_dir, f'iter_{step}.pth')
            return path
        last = runner.message_hub.get_info('last_ckpt')
        name = hook.filename_tmpl.format(step)
        if not (last and os.path.basename(last) == name):
            # the checkpoint hook did not save this iteration already: an
            # off-schedule save, so the random streams are captured now
            for other in runner.hooks:
                if isinstance(other, SFRandomStateHook):
                    other.gather(runner)
            hook._save_checkpoint(runner)
        return os.path.join(hook.out_dir, name)

    @staticmethod
    def _requeue():
        job = os.environ.get('SLURM_JOB_ID')
        if job is None:
            return False
        if get_rank() != 0:
            return True
        try:
            subprocess.run(
                ['scontrol', 'requeue', job],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as err:
            print_log(
                f'could not requeue slurm job {job}: {err}', logger='current'
            )
            return False
        return True
