"""Save and restore the random-number streams so ``--resume`` is exact.

mmengine restores weights, optimiser, schedulers and the data position
(it replays the skipped batches through the data loader, so worker-side
augmentation repeats exactly), but re-seeds the main process: dropout and
any augmentation that runs in the main process restart from iteration 0's
stream, and the resumed run drifts from an uninterrupted one.

``SFRandomStateHook`` stores, for every rank, the torch (CPU and CUDA),
numpy and Python states, plus those of datasets that keep their own
generator (``rng_state()`` / ``set_rng_state()``), in the checkpoint under
``'rng_states'``. The
states are taken at the end of the iteration that is saved and put back
just before the first batch after the skipped ones is drawn, which is
where an uninterrupted run continues. Data loaders get their own torch
generator, so creating an iterator (e.g. for validation) no longer draws
from the global stream. Checkpoints without states resume with a warning.

On a GPU each rank saves the CUDA state of its own device only, and the
states are moved to the CPU before they are set: mmengine's resume loads
checkpoints with ``map_location`` = the current device, which turns the
saved byte tensors into CUDA tensors that ``torch.set_rng_state``
refuses. Resume on a GPU is exact where the CUDA kernels are
deterministic; the backward of ``grid_sample`` and of bilinear
upsampling accumulate with atomics there, so those gradients (and the
weights after them) differ in the last bits from run to run, resumed or
not (docs/training.md).
"""

import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from sfseg.datasets.wrappers import wrapped_datasets

KEY = 'rng_states'


def _stateful(dataset):
    return [
        d for d in wrapped_datasets(dataset) if hasattr(d, 'set_rng_state')
    ]


def capture(dataset=None):
    """This process's random states (a picklable dict of plain values)."""
    state = dict(
        torch=torch.get_rng_state(),
        numpy=np.random.get_state(),
        python=random.getstate(),
        datasets=[d.rng_state() for d in _stateful(dataset)],
    )
    if torch.cuda.is_available():
        # this rank's device only: another run may see fewer GPUs
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def to_cpu(value):
    """``value`` with every tensor in it moved to the CPU (states loaded
    with ``map_location='cuda'`` come back as CUDA tensors)."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value


def _cuda_state(saved):
    """This device's CUDA state from ``saved``: one state, or (written
    before sfseg saved one device per rank) one per visible GPU, of
    which the current device's is taken if it exists."""
    if isinstance(saved, (list, tuple)):
        index = torch.cuda.current_device()
        return saved[index] if index < len(saved) else None
    return saved


def restore(state, dataset=None):
    state = to_cpu(state)
    torch.set_rng_state(state['torch'])
    np.random.set_state(state['numpy'])
    random.setstate(state['python'])
    if state.get('cuda') is not None and torch.cuda.is_available():
        cuda = _cuda_state(state['cuda'])
        if cuda is not None:
            torch.cuda.set_rng_state(cuda)
    for holder, value in zip(_stateful(dataset), state['datasets']):
        holder.set_rng_state(value)


class _RestoreBeforeBatch:
    """Wraps the train loop's data iterator: after ``skip`` batches (the
    ones mmengine replays on resume) it restores the saved states, then
    hands out the next batch."""

    def __init__(self, iterator, skip, restore_fn):
        self._iterator = iterator
        self._skip = skip
        self._restore = restore_fn

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0 and self._restore is not None:
            self._restore()
            self._restore = None
        self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class SFRandomStateHook(Hook):
    """Exact resume: per-rank RNG states in the checkpoint (see module
    doc). Add it as ``custom_hooks=[dict(type='SFRandomStateHook')]``."""

    # before CheckpointHook (VERY_LOW), after the optimizer step
    priority = 'LOW'

    def __init__(self):
        self._states = None
        self._resumed = None

    # ---------------------------------------------------------- saving
    def _checkpoint_hook(self, runner):
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        return hooks[0] if hooks else None

    def _will_save(self, runner, by_epoch):
        """Whether the CheckpointHook saves at this step, by its own
        (mmengine's) schedule test."""
        hook = self._checkpoint_hook(runner)
        if hook is None or hook.by_epoch != by_epoch:
            return False
        if by_epoch:
            every = hook.every_n_epochs(runner, hook.interval, hook.save_begin)
            last = hook.is_last_train_epoch(runner)
        else:
            every = hook.every_n_train_iters(
                runner, hook.interval, hook.save_begin
            )
            last = hook.is_last_train_iter(runner)
        return every or (hook.save_last and last)

    def gather(self, runner):
        """Capture every rank's streams for the next checkpoint (a
        collective: all ranks call it at the same point)."""
        mine = capture(self._train_dataset(runner))
        states = all_gather_object(mine) if get_world_size() > 1 else [mine]
        self._states = states

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ):
        if self._will_save(runner, by_epoch=False):
            self.gather(runner)

    def after_train_epoch(self, runner):
        if self._will_save(runner, by_epoch=True):
            self.gather(runner)

    def before_save_checkpoint(self, runner, checkpoint):
        if self._states is not None:
            checkpoint[KEY] = self._states

    # -------------------------------------------------------- resuming
    def _train_dataset(self, runner):
        loop = runner.train_loop
        loader = getattr(loop, 'dataloader', None)
        return getattr(loader, 'dataset', None)

    def after_load_checkpoint(self, runner, checkpoint):
        if not runner._resume:  # load_from: weights only
            return
        states = checkpoint.get(KEY)
        if not states:
            print_log(
                'SFRandomStateHook: the checkpoint holds no random states '
                '(written without this hook); the resumed run continues '
                'with fresh streams and will not repeat an uninterrupted '
                'run exactly.',
                logger='current',
                level=30,
            )
            return
        rank, world = get_rank(), get_world_size()
        if len(states) != world:
            print_log(
                f'SFRandomStateHook: the checkpoint has states of '
                f'{len(states)} ranks, this run has {world}; restoring '
                'rank 0 states on every rank (not exact).',
                logger='current',
                level=30,
            )
        self._resumed = states[rank if len(states) == world else 0]
        loop = runner.train_loop
        dataset = self._train_dataset(runner)
        if hasattr(loop, 'dataloader_iterator'):  # iteration-based
            # mmengine sets loop._iter only after this hook: take the
            # number of batches it will skip from the checkpoint
            loop.dataloader_iterator = _RestoreBeforeBatch(
                loop.dataloader_iterator,
                checkpoint['meta']['iter'],
                lambda: restore(self._resumed, dataset),
            )

    def before_train(self, runner):
        # Iterators drawn later (validation, new epochs) take their base
        # seed from a private generator instead of the global stream.
        for loop_name in ('train_loop', 'val_loop', 'test_loop'):
            loop = getattr(runner, f'_{loop_name}', None)
            loader = getattr(loop, 'dataloader', None)
            if isinstance(loader, torch.utils.data.DataLoader):
                if loader.generator is None:
                    loader.generator = torch.Generator().manual_seed(
                        runner.seed or 0
                    )

    def before_train_epoch(self, runner):
        if self._resumed is not None and not hasattr(
            runner.train_loop, 'dataloader_iterator'
        ):  # epoch-based: the epoch's iterator is created after this hook
            restore(self._resumed, self._train_dataset(runner))
            self._resumed = None
