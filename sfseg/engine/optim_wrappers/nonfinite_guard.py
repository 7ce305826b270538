"""An optimizer wrapper that refuses non-finite gradients.

mmengine's ``OptimWrapper`` steps whatever backward produced: one NaN loss
(lxtGH/SFSegNets#36) writes NaN into every weight and every later
checkpoint. ``SFOptimWrapper`` computes the total gradient norm after
backward, which under DDP is after the gradient all-reduce, so every rank
sees the same value and takes the same decision (a check of the loss on
one rank would leave the others waiting in the next all-reduce). One fused
norm over the gradients; the cost per iteration is in docs/benchmark.md.
"""

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from sfseg.utils.user_errors import SFSegUserError

LOSS_TERMS = 'sfseg_loss_terms'


class NonFiniteGradientError(SFSegUserError, FloatingPointError):
    """The gradients of a step are NaN or infinite."""


@OPTIM_WRAPPERS.register_module()
class SFOptimWrapper(OptimWrapper):
    """``OptimWrapper`` with a non-finite gradient guard.

    Args:
        nonfinite (str): ``'stop'`` (default) raises
            :class:`NonFiniteGradientError` naming the iteration, the
            gradient norm and the loss terms; ``'skip'`` leaves parameters
            and optimizer state unchanged for that step (the learning-rate
            schedule keeps its own clock), logs and counts it, and raises
            after ``max_skips`` skipped steps in a row.
        max_skips (int): skipped steps in a row that end training.
        Other arguments: as ``OptimWrapper``.
    """

    def __init__(self, *args, nonfinite='stop', max_skips=3, **kwargs):
        super().__init__(*args, **kwargs)
        if nonfinite not in ('stop', 'skip'):
            raise ValueError(
                f"nonfinite must be 'stop' or 'skip', not {nonfinite!r}"
            )
        self.nonfinite = nonfinite
        self.max_skips = int(max_skips)
        self.skipped_in_a_row = 0
        self.skipped = 0

    def _grads(self):
        return [
            p.grad
            for group in self.optimizer.param_groups
            for p in group['params']
            if p.grad is not None
        ]

    def step(self, **kwargs):
        grads = self._grads()
        norm = torch.nn.utils.get_total_norm(grads) if grads else None
        if norm is None or torch.isfinite(norm):
            self.skipped_in_a_row = 0
            return super().step(**kwargs)
        hub = MessageHub.get_current_instance()
        iteration = hub.get_info('iter', -1) + 1
        terms = hub.get_info(LOSS_TERMS) or {}
        losses = ', '.join(f'{k}={float(v):.4g}' for k, v in terms.items())
        where = (
            f'iteration {iteration}: the gradient norm is {norm.item()}'
            + (f' (losses: {losses})' if losses else '')
        )
        if self.nonfinite == 'stop':
            raise NonFiniteGradientError(
                f'non-finite gradients at {where}; training stopped before '
                'the step, so the weights and checkpoints stay finite '
                "(optim_wrapper.nonfinite='skip' skips such steps)"
            )
        self.skipped_in_a_row += 1
        self.skipped += 1
        if self.skipped_in_a_row > self.max_skips:
            raise NonFiniteGradientError(
                f'non-finite gradients in {self.skipped_in_a_row} steps in '
                f'a row, the last at {where}; training stopped'
            )
        print_log(
            f'skipped the step of {where} ({self.skipped} skipped so far)',
            logger='current',
        )
        hub.update_info('sfseg_skipped_steps', self.skipped)
