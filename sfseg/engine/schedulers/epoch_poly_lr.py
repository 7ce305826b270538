"""The official SFNet learning-rate schedule in an iteration-based loop.

The official ``train.py`` wraps SGD in ``LambdaLR(lambda e: (1 - e / E) **
power)`` and calls ``scheduler.step()`` at the *start* of every epoch, so
the learning rate is constant inside an epoch and equals
``base * (1 - (e + 1) / E) ** power`` in 0-based epoch ``e``: epoch 0 of
300 at base 0.01 trains at 0.009967, the last epoch at 0. mmengine's
``PolyLR`` decays per iteration (or per mmengine epoch, which an
``IterBasedTrainLoop`` does not have), so neither gives these values.
"""

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
from mmseg.registry import PARAM_SCHEDULERS


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive integer, got {value!r}')
    return value


@PARAM_SCHEDULERS.register_module()
class SFEpochPolyParamScheduler(_ParamScheduler):
    """Poly decay stepped once per official epoch, in iterations.

    Value at iteration ``i`` (counted from ``begin``):
    ``base * (1 - (i // iters_per_epoch + 1) / max_epochs) ** power``.

    Args:
        optimizer: optimizer or optim wrapper.
        param_name (str): e.g. ``'lr'``.
        iters_per_epoch (int): iterations per official epoch (its sampler's
            length, e.g. 186 for Cityscapes fine at 8 x 2 images).
        max_epochs (int): the script's ``--max_epoch``.
        power (float): ``--poly_exp`` (1.0 in every script).
        begin (int): first iteration of the schedule; it spans
            ``iters_per_epoch * max_epochs`` iterations from there.
        end: ignored. mmengine's Runner fills in ``end`` from the loop
            (``max_epochs`` unless the config says ``by_epoch=False``),
            which would freeze the schedule after one iteration of an
            ``IterBasedTrainLoop``; the span always comes from the epochs.
    """

    def __init__(
        self,
        optimizer,
        param_name,
        iters_per_epoch,
        max_epochs,
        power=1.0,
        begin=0,
        end=None,
        last_step=-1,
        by_epoch=False,
        verbose=False,
    ):
        self.iters_per_epoch = _positive_int(
            'iters_per_epoch', iters_per_epoch
        )
        self.max_epochs = _positive_int('max_epochs', max_epochs)
        if by_epoch:
            raise ValueError(
                'SFEpochPolyParamScheduler steps per iteration '
                '(by_epoch=False); iters_per_epoch gives the epochs'
            )
        if power <= 0:
            raise ValueError(f'power must be positive, got {power!r}')
        self.power = power
        end = begin + iters_per_epoch * max_epochs
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=False,
            verbose=verbose,
        )

    def factor(self, step):
        """Multiplier of the base value at iteration ``step``."""
        epoch = min(step // self.iters_per_epoch + 1, self.max_epochs)
        return (1.0 - epoch / self.max_epochs) ** self.power

    def _get_value(self):
        factor = self.factor(self.last_step)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class SFEpochPolyLR(LRSchedulerMixin, SFEpochPolyParamScheduler):
    """:class:`SFEpochPolyParamScheduler` on the learning rate."""
