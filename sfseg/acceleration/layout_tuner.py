"""Choose the faster CPU memory layout of a model from its own calls.

Which layout wins depends on the model and the CPU: on a 2-core AVX2
EPYC, SFNet-R18 is 1.1-1.2x faster in NCHW with NNPACK's FFT / Winograd
kernels (:mod:`sfseg.acceleration.nnpack_conv`) for its 128-512 channel
3x3 convolutions, SFNet-STDC1 1.2x faster channels-last with oneDNN
(narrow convolutions, where the transforms cost what they save); on
AVX-512 CPUs oneDNN's direct kernels get faster still. Instead of a
fixed rule, :func:`tune_layout` times real inference calls of each
input shape: the first runs channels-last with oneDNN (no kernel
timing, so a single image pays nothing for the tuning), the second
channels-last while :class:`~sfseg.acceleration.NNPACKConv2d` times its
kernels, the third channels-last timed, the fourth NCHW while the
kernels are timed, the fifth NCHW timed; every later call of that shape
runs in the faster layout. No call is wasted: every one returns its
logits.

NNPACK's transforms round differently from oneDNN's direct convolutions,
and how much depends on the CPU's kernels and on the weights (deep
networks with large activations amplify it). The first call of a shape
runs with oneDNN only; every call that may use NNPACK is compared with
it, and when the logits move by more than ``nnpack_max_drift`` of the
largest logit, that call is run again without NNPACK and the shape keeps
oneDNN from then on (:attr:`LayoutTuner.drift`). So the fast path stays
within that bound of the oneDNN path on any CPU.
"""

import time

import torch

from .options import AccelerationOptions, in_effect, override

_FORMATS = {
    'channels_last': torch.channels_last,
    'nchw': torch.contiguous_format,
}
# (layout, kernel timing allowed, call timed) of the calls before a choice
SCHEDULE = (
    ('channels_last', False, False),
    ('channels_last', True, False),
    ('channels_last', True, True),
    ('nchw', True, False),
    ('nchw', True, True),
)


# the drift check keeps at most this many logits per channel of a shape
# (a full copy would double the logits' memory on large images) and
# references of at most this many shapes not tuned yet
_SAMPLE_SIDE = 64
_MAX_REFERENCES = 16


def _sample(logits):
    """At most ``_SAMPLE_SIDE`` x ``_SAMPLE_SIDE`` evenly strided logits
    per channel: what the drift check compares."""
    h, w = logits.shape[-2:]
    step_h = -(-h // _SAMPLE_SIDE)
    step_w = -(-w // _SAMPLE_SIDE)
    return logits.detach()[..., ::step_h, ::step_w].float()


class LayoutTuner:
    """Wraps ``model.encode_decode``; see the module docstring.

    Attributes:
        timings (dict): input shape -> {layout: seconds of its timed call}.
        choice (dict): input shape -> the layout chosen.
        drift (dict): input shape -> the largest drift of its NNPACK calls
            from the oneDNN call, relative to the largest logit.
        no_nnpack (set): input shapes whose drift went over the bound.
    """

    def __init__(self, model, options=None):
        self.model = model
        self.options = options or AccelerationOptions(nnpack=True)
        self.encode_decode = model.encode_decode
        self.calls = {}
        self.timings = {}
        self.choice = {}
        self.layout = None
        self.reference = {}  # shape -> logits of the oneDNN-only call
        self.drift = {}
        self.no_nnpack = set()

    def set_layout(self, layout):
        if layout != self.layout:
            self.model.to(memory_format=_FORMATS[layout])
            self.layout = layout

    def step_for(self, shape):
        """(layout, kernel timing, timed) of the next call of ``shape``."""
        if shape in self.choice:
            return self.choice[shape], True, False
        return SCHEDULE[self.calls.get(shape, 0)]

    def _run(self, inputs, batch_img_metas, shape, timing):
        """(logits, seconds) of one call, NNPACK off where it drifted."""
        changes = dict(kernel_timing=timing)
        if shape in self.no_nnpack:
            changes['nnpack'] = False
        with override(**changes):
            start = time.perf_counter()
            logits = self.encode_decode(inputs, batch_img_metas)
            return logits, time.perf_counter() - start

    def _keep_reference(self, shape, logits):
        """Keep the oneDNN call's logits of ``shape``; past
        ``_MAX_REFERENCES`` shapes (a folder of images of many sizes), the
        oldest one's shape can no longer be checked, so it keeps oneDNN."""
        self.reference[shape] = _sample(logits).clone()
        if len(self.reference) > _MAX_REFERENCES:
            oldest = next(iter(self.reference))
            del self.reference[oldest]
            self.no_nnpack.add(oldest)

    def _drifted(self, shape, logits):
        """Whether ``logits`` left the bound around the oneDNN call's."""
        reference = self.reference.get(shape)
        if reference is None or shape in self.no_nnpack:
            return False
        scale = float(reference.abs().max()) or 1.0
        drift = float((_sample(logits) - reference).abs().max()) / scale
        self.drift[shape] = max(drift, self.drift.get(shape, 0.0))
        return drift > in_effect(self.options).nnpack_max_drift

    def __call__(self, inputs, batch_img_metas):
        shape = tuple(inputs.shape)
        layout, timing, timed = self.step_for(shape)
        self.set_layout(layout)
        inputs = inputs.contiguous(memory_format=_FORMATS[layout])
        logits, elapsed = self._run(inputs, batch_img_metas, shape, timing)
        if not timing and shape not in self.calls:
            self._keep_reference(shape, logits)
        elif shape in self.reference and self._drifted(shape, logits):
            self.no_nnpack.add(shape)
            logits, elapsed = self._run(inputs, batch_img_metas, shape, timing)
        count = self.calls[shape] = self.calls.get(shape, 0) + 1
        if timed:
            self.timings.setdefault(shape, {})[layout] = elapsed
            if count == len(SCHEDULE):
                times = self.timings[shape]
                self.choice[shape] = min(times, key=times.get)
                self.reference.pop(shape, None)  # tuned: memory back
        return logits


def tune_layout(model, options=None):
    """Let ``model`` (accelerated with ``nnpack=True``) pick its layout per
    input shape from its first five calls; returns the
    :class:`LayoutTuner` (also ``model.layout_tuner``). ``options``: the
    model's :class:`AccelerationOptions` (``nnpack_max_drift``)."""
    tuner = LayoutTuner(model, options)
    model.encode_decode = tuner
    model.layout_tuner = tuner
    return tuner
