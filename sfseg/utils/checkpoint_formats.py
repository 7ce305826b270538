"""Checkpoint layouts other than mmseg's, read wherever sfseg reads one.

Every checkpoint sfseg loads goes through :func:`adapt_checkpoint` (the
file as read, before anything uses it) and, where the model is known,
:func:`fit_checkpoint` (before the weights are checked against it). A
layout is registered from the package that knows it, above this one: the
official SFSegNets files from :mod:`sfseg.models.official.official_files`,
as mmengine's ``CheckpointLoader`` lets a package register a scheme.
"""

_FORMATS = []


class CheckpointFormat:
    """A checkpoint layout sfseg reads besides its own."""

    def adapt(self, checkpoint, filename):
        """``checkpoint`` in sfseg's layout, or ``None`` when it is not
        of this format."""
        return None

    def fit(self, checkpoint, model_state, filename):
        """``checkpoint`` prepared for a model with ``model_state``; raise
        :class:`sfseg.utils.CheckpointMismatchError` with the reason and
        the fix when it is of this format and cannot fit."""
        return checkpoint


def register_checkpoint_format(fmt):
    """Add ``fmt`` (a :class:`CheckpointFormat`) once."""
    if not any(type(f) is type(fmt) for f in _FORMATS):
        _FORMATS.append(fmt)
    return fmt


def adapt_checkpoint(checkpoint, filename=None):
    """The first registered format's reading of ``checkpoint``, or the
    checkpoint as it is."""
    for fmt in _FORMATS:
        adapted = fmt.adapt(checkpoint, filename)
        if adapted is not None:
            return adapted
    return checkpoint


def fit_checkpoint(checkpoint, model_state, filename=None):
    """``checkpoint`` after every format has fitted it to the model."""
    for fmt in _FORMATS:
        checkpoint = fmt.fit(checkpoint, model_state, filename)
    return checkpoint
