"""``compile=...`` that pays: the network and its losses compiled, not
mmengine's whole ``train_step``.

mmengine's Runner answers a config's ``compile`` key by wrapping the
model's ``train_step`` in ``torch.compile``. That step also holds data
preprocessing on Python lists, the optimiser wrapper (whose iteration
counters are Python ints, so its guards fail and dynamo compiles the step
again on every iteration until its cache limit, then runs it eagerly) and
``loss.backward()`` inside an autocast context (a graph break dynamo
cannot resume from there, so the whole frame falls back to eager and the
frames below it are compiled one by one). Training was 20-50x slower.

``SFCompileHook`` undoes that wrapper before the first iteration and
compiles the segmentor's ``loss`` (backbone, neck, heads, loss terms)
with the same options instead: one graph for the forward pass and one
for the backward, compiled once for a fixed crop size. Preprocessing,
``backward()`` and the optimiser step run as in eager training.
sfseg's configs list the hook; ``tools/train.py`` adds it to any config
that asks for ``compile``. Validation and testing are not compiled, as
with mmengine's own ``compile``.
"""

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from sfseg.utils import cpu_info


def compile_options(cfg):
    """The ``compile`` key of a config as ``torch.compile`` keyword
    arguments, or None when it asks for no compilation."""
    options = cfg.get('compile')
    if not options:
        return None
    options = {} if options is True else dict(options)
    options.pop('target', None)  # mmengine's FlexibleRunner key
    return options


def _with_standard_label_strides(loss):
    """``loss`` called with every label map in row-major strides.

    A 1 x H x W label map packed from a cropped array may carry any
    stride in its size-1 dimension; dynamo guards on strides, so each new
    layout would compile the loss again. The copy costs one label map."""

    def call(inputs, data_samples):
        for sample in data_samples:
            for name in ('gt_sem_seg', 'gt_edge_map'):
                if name in sample:
                    field = getattr(sample, name)
                    field.data = field.data.clone(
                        memory_format=torch.contiguous_format
                    )
        return loss(inputs, data_samples)

    return call


@HOOKS.register_module()
class SFCompileHook(Hook):
    """Compile the segmentor's ``loss`` instead of mmengine's
    ``train_step`` when the config has ``compile`` (see module doc)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner):
        options = compile_options(runner.cfg)
        if options is None:
            return
        cpu_info.key_inductor_cache()
        # the Runner's torch.compile(train_step), an instance attribute
        runner.model.__dict__.pop('train_step', None)
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else (runner.model)
        )
        if 'loss' not in model.__dict__:
            model.loss = _with_standard_label_strides(
                torch.compile(model.loss, **options)
            )
        print_log(
            f'compile: {type(model).__name__}.loss compiled with '
            f'{options or "the defaults"}; preprocessing, backward and '
            'the optimiser step run eagerly',
            logger='current',
        )
