"""Load checkpoints with ``weights_only=True`` and a short allowlist.

A ``.pth`` file is a pickle: loaded with ``weights_only=False`` it can run
any code its author put in it. torch's weights-only unpickler builds only
tensors, containers and plain values, plus the globals a caller allows.
The allowlist here holds exactly what the checkpoints sfseg meets contain
(found by listing the globals of real files with
``torch.serialization.get_unsafe_globals_in_checkpoint``):

- mmengine Runner checkpoints (``--resume``, ``load_from``, ``mim test``):
  the message hub's ``HistoryBuffer`` and numpy arrays / scalars / dtypes;
  the buffers' statistics methods are pickled as ``getattr(HistoryBuffer,
  'min')``, so ``getattr`` is allowed *only* for those attribute reads,
  and an empty array's data as ``bytes()``, allowed only without
  arguments;
- official SFSegNets checkpoints (``mean_iu`` is a numpy scalar) and
  mmcv 1.x / K-Net checkpoints, written under numpy 1.x: the same numpy
  globals under their ``numpy.core`` names.

Anything else is refused with :class:`UntrustedCheckpointError` naming the
global. ``SFSEG_TRUST_CHECKPOINTS=1`` loads a file the user trusts with the
full unpickler instead (never the default).
"""

import contextlib
import functools
import os
import os.path as osp
import pickle

import torch

from .checkpoint_formats import adapt_checkpoint
from .user_errors import SFSegUserError

TRUST_ENV = 'SFSEG_TRUST_CHECKPOINTS'
NUMERIC_DTYPES = tuple(
    f'{kind}{bits}DType'
    for kind, sizes in (
        ('Int', (8, 16, 32, 64)),
        ('UInt', (8, 16, 32, 64)),
        ('Float', (16, 32, 64)),
    )
    for bits in sizes
) + ('BoolDType',)
_TRUE = ('1', 'true', 'yes', 'on')


class UntrustedCheckpointError(SFSegUserError, pickle.UnpicklingError):
    """A checkpoint needs a global outside the allowlist; not loaded."""


def trust_checkpoints() -> bool:
    """Whether the user opted in to full unpickling (``TRUST_ENV``)."""
    return os.environ.get(TRUST_ENV, '').strip().lower() in _TRUE


def _history_buffer_method(owner, name):
    # Stands in for ``builtins.getattr`` while unpickling: a real getattr
    # would hand the file any attribute of any allowed object.
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(owner, "__qualname__", owner)!r}, {name!r}) is '
        'not allowed in a checkpoint (only HistoryBuffer statistics methods)'
    )


def _empty_bytes(*args):
    # Pickle protocol 2 writes b'' (the data of an empty numpy array) as
    # ``bytes()``; any argument would let the file size an allocation.
    if args:
        raise pickle.UnpicklingError(
            'bytes() with arguments is not allowed in a checkpoint'
        )
    return b''


@functools.lru_cache(maxsize=None)
def checkpoint_allowlist():
    """``(object, pickled name)`` pairs for ``torch.serialization.
    safe_globals``."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 1.26 has no numpy._core
        from numpy.core import multiarray

    pairs = [
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_history_buffer_method, 'builtins.getattr'),
        (_empty_bytes, 'builtins.bytes'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    for core in ('numpy._core', 'numpy.core'):  # numpy 2 / numpy 1 files
        pairs += [
            (multiarray._reconstruct, f'{core}.multiarray._reconstruct'),
            (multiarray.scalar, f'{core}.multiarray.scalar'),
        ]
    # numpy >= 2 dtypes are instances of per-type classes, which torch
    # must know to restore their state: the plain numeric ones (RNG
    # states are uint32 arrays, logs float64 ...), no object/str/void.
    dtypes = getattr(np, 'dtypes', None)
    for name in NUMERIC_DTYPES:
        if dtypes is not None and hasattr(dtypes, name):
            pairs.append((getattr(dtypes, name), f'numpy.dtypes.{name}'))
    return tuple(pairs)


def allowlist_names():
    """The pickled names :func:`checkpoint_allowlist` allows."""
    return [name for _, name in checkpoint_allowlist()]


def _unsafe_globals(filename):
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # legacy (non-zip) files cannot be scanned
        return []
    allowed = set(allowlist_names())
    return [g for g in found if g not in allowed]


def _refusal(filename, err):
    names = _unsafe_globals(filename) if isinstance(filename, str) else []
    if names:
        shown = ', '.join(names[:5])
        what = f'needs the global(s) {shown}, which are not on'
    else:
        # torch wraps the unpickler's reason in advice to pass
        # weights_only=False; keep only the reason.
        text = str(err)
        if 'WeightsUnpickler error:' in text:
            text = text.split('WeightsUnpickler error:', 1)[1]
            text = text.split('Check the documentation', 1)[0]
        lines = [r.strip() for r in text.splitlines() if r.strip()]
        reason = ' '.join(lines) or type(err).__name__
        what = f'was refused by the weights-only unpickler ({reason}) under'
    return (
        f"{filename}: not loaded: the checkpoint {what} sfseg's allowlist "
        'of plain checkpoint contents (a pickle that needs more can run '
        f'code when loaded). If you trust this file, set {TRUST_ENV}=1 '
        'to load it with the full unpickler.'
    )


@contextlib.contextmanager
def allowlisted(filename):
    """Run a weights-only ``torch.load`` of ``filename`` with the
    allowlist active (only for the duration of the block) and turn a
    refusal into :class:`UntrustedCheckpointError`."""
    with torch.serialization.safe_globals(list(checkpoint_allowlist())):
        try:
            yield
        except pickle.UnpicklingError as err:
            raise UntrustedCheckpointError(_refusal(filename, err)) from None


class CheckpointFileError(SFSegUserError, ValueError):
    """The file is no checkpoint at all (e.g. a web page); not loaded."""


def check_not_a_page(filename):
    """Raise :class:`CheckpointFileError` for an empty file or a web
    page saved under a checkpoint's name."""
    # A Drive / OneDrive link fetched without a browser (wget, mim
    # download) saves the link's HTML page under the checkpoint's name;
    # torch would report an unpickling error instead.
    if not isinstance(filename, (str, os.PathLike)):
        return
    with open(filename, 'rb') as f:
        head = f.read(64)
    if not head:
        raise CheckpointFileError(f'{filename} is empty: download it again')
    if head.lstrip()[:1] == b'<':
        raise CheckpointFileError(
            f'{filename} is a web page, not a checkpoint (it starts with '
            f'{head.lstrip()[:15]!r}): links such as the official Google '
            'Drive / OneDrive ones need a browser; download the file itself'
        )


def load_checkpoint_file(filename, map_location=None):
    """``torch.load`` of a local file, weights-only with the allowlist
    unless the user trusts checkpoints (:data:`TRUST_ENV`)."""
    check_not_a_page(filename)
    if trust_checkpoints():
        return torch.load(
            filename, map_location=map_location, weights_only=False
        )
    with allowlisted(filename):
        return torch.load(
            filename, map_location=map_location, weights_only=True
        )


def read_checkpoint(filename, map_location=None):
    """:func:`load_checkpoint_file` in sfseg's layout: a file of another
    registered layout (an official SFSegNets release) is converted in
    memory (:mod:`sfseg.utils.checkpoint_formats`)."""
    checkpoint = load_checkpoint_file(filename, map_location=map_location)
    return adapt_checkpoint(checkpoint, filename)


def _load_from_local(filename, map_location=None):
    # mmengine's own local loader, loading through read_checkpoint.
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return read_checkpoint(filename, map_location=map_location)


def _allowlisted_loader(loader):
    # Remote schemes keep mmengine's download code and torch's default
    # (weights-only) load; only the allowlist is added.
    @functools.wraps(loader)
    def load(filename, map_location=None):
        with allowlisted(filename):
            checkpoint = loader(filename, map_location)
        return adapt_checkpoint(checkpoint, filename)

    load._sfseg_allowlisted = True
    return load


def patch_checkpoint_loading() -> bool:
    """Route mmengine's checkpoint loaders through the allowlist.

    The local-file loader (``--resume``, ``load_from``, ``init_model``,
    ``mim test``) becomes :func:`read_checkpoint`; the URL loaders keep
    their code and get the allowlist; both read the registered layouts.
    Returns False when this torch has no ``safe_globals`` (then mmengine
    is left as it is).
    """
    if not hasattr(torch.serialization, 'safe_globals'):
        return False
    from mmengine.runner import CheckpointLoader

    schemes = CheckpointLoader._schemes
    for prefix, loader in list(schemes.items()):
        if prefix == '' or getattr(loader, '_sfseg_allowlisted', False):
            continue
        CheckpointLoader.register_scheme(
            prefixes=prefix, loader=_allowlisted_loader(loader), force=True
        )
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True
    )
    return True
