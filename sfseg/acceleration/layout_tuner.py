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
"""

import time

import torch

from .options import override

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


class LayoutTuner:
    """Wraps ``model.encode_decode``; see the module docstring.

    Attributes:
        timings (dict): input shape -> {layout: seconds of its timed call}.
        choice (dict): input shape -> the layout chosen.
    """

    def __init__(self, model):
        self.model = model
        self.encode_decode = model.encode_decode
        self.calls = {}
        self.timings = {}
        self.choice = {}
        self.layout = None

    def set_layout(self, layout):
        if layout != self.layout:
            self.model.to(memory_format=_FORMATS[layout])
            self.layout = layout

    def step_for(self, shape):
        """(layout, kernel timing, timed) of the next call of ``shape``."""
        if shape in self.choice:
            return self.choice[shape], True, False
        return SCHEDULE[self.calls.get(shape, 0)]

    def __call__(self, inputs, batch_img_metas):
        shape = tuple(inputs.shape)
        layout, timing, timed = self.step_for(shape)
        self.set_layout(layout)
        inputs = inputs.contiguous(memory_format=_FORMATS[layout])
        with override(kernel_timing=timing):
            start = time.perf_counter()
            logits = self.encode_decode(inputs, batch_img_metas)
            elapsed = time.perf_counter() - start
        count = self.calls[shape] = self.calls.get(shape, 0) + 1
        if timed:
            self.timings.setdefault(shape, {})[layout] = elapsed
            if count == len(SCHEDULE):
                times = self.timings[shape]
                self.choice[shape] = min(times, key=times.get)
        return logits


def tune_layout(model):
    """Let ``model`` (accelerated with ``nnpack=True``) pick its layout per
    input shape from its first five calls; returns the
    :class:`LayoutTuner` (also ``model.layout_tuner``)."""
    tuner = LayoutTuner(model)
    model.encode_decode = tuner
    model.layout_tuner = tuner
    return tuner
