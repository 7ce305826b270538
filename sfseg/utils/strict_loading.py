"""Load a checkpoint into a model for inference, or refuse it clearly.

mmseg's ``init_model`` / ``MMSegInferencer`` load weights non-strictly:
a checkpoint for another class count or backbone only logs "size
mismatch" warnings, and inference then runs on randomly initialised
layers. Inference and export must never do that, so every key the model
has must come from the checkpoint with its shape, and the checkpoint may
hold nothing else.
"""

import re

from .checkpoint import read_checkpoint
from .checkpoint_formats import adapt_checkpoint, fit_checkpoint
from .user_errors import SFSegUserError

SHOWN_KEYS = 3
_CLASSIFIER = re.compile(r'(^|\.)conv_seg\.(weight|bias)$')


class CheckpointMismatchError(SFSegUserError, ValueError):
    """The checkpoint's keys or shapes do not fit the model."""


def state_dict_of(checkpoint):
    """The weights in a loaded checkpoint, without the ``module.`` prefix
    that DataParallel / DDP checkpoints carry (as mmengine strips it)."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'holds a {type(state).__name__}, not a state dict'
        )
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def _shape(value):
    return tuple(value.shape) if hasattr(value, 'shape') else None


def _keys(keys):
    shown = ', '.join(keys[:SHOWN_KEYS])
    more = len(keys) - SHOWN_KEYS
    return shown + (f' and {more} more' if more > 0 else '')


def _likely_cause(missing, unexpected, misshaped):
    """One sentence on why the checkpoint does not fit, or ``''``."""
    for key, ckpt_shape, model_shape in misshaped:
        if _CLASSIFIER.search(key) and ckpt_shape[0] != model_shape[0]:
            return (
                f'likely cause: num_classes {model_shape[0]} in the config,'
                f' {ckpt_shape[0]} in the checkpoint ({key})'
            )
    if missing and not unexpected:
        heads = {k.split('.')[0] for k in missing}
        if heads <= {'decode_head', 'auxiliary_head'}:
            return (
                'likely cause: a backbone-only checkpoint (use it as the '
                "backbone's init_cfg for training, not for inference)"
            )
    if misshaped or (missing and unexpected):
        return (
            'likely cause: the checkpoint was trained with another config '
            '(backbone, channels or head type differ)'
        )
    return ''


def check_state_dict(model, state):
    """Raise :class:`CheckpointMismatchError` unless ``state`` has exactly
    the keys and shapes of ``model.state_dict()``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        (k, _shape(state[k]), tuple(v.shape))
        for k, v in expected.items()
        if k in state and _shape(state[k]) != tuple(v.shape)
    ]
    if not (missing or unexpected or misshaped):
        return
    parts = []
    if misshaped:
        parts.append(
            f'{len(misshaped)} key(s) with other shapes: '
            + _keys(
                [
                    f'{k} (checkpoint {list(c)}, model {list(m)})'
                    for k, c, m in misshaped
                ]
            )
        )
    if missing:
        parts.append(f'{len(missing)} missing key(s): {_keys(missing)}')
    if unexpected:
        parts.append(
            f'{len(unexpected)} unexpected key(s): {_keys(unexpected)}'
        )
    cause = _likely_cause(missing, unexpected, misshaped)
    raise CheckpointMismatchError(
        '; '.join(parts) + (f'. {cause}' if cause else '')
    )


def load_weights_strictly(model, checkpoint, filename=None):
    """Load ``checkpoint`` (a path or an already loaded dict; an
    official SFSegNets file is read in memory) into ``model`` with every
    key and shape matching; return the checkpoint dict. The error names
    ``filename`` and the first keys at fault."""
    if isinstance(checkpoint, str):
        filename = filename or checkpoint
        checkpoint = read_checkpoint(checkpoint, map_location='cpu')
    else:
        checkpoint = adapt_checkpoint(checkpoint, filename)
    name = filename or 'checkpoint'
    try:
        checkpoint = fit_checkpoint(checkpoint, model.state_dict(), name)
        state = state_dict_of(checkpoint)
        check_state_dict(model, state)
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(
            f'{name} does not fit the model: {err}'
        ) from None
    model.load_state_dict(state, strict=True)
    return checkpoint
