"""The network compiled with ``torch.compile``, one graph per input size.

:func:`use_compiled_network` compiles a segmentor's tensor path (backbone,
neck, decode head: image batch -> logits) after :func:`accelerate` has
folded BN and chosen the layout, and routes ``encode_decode`` and
``mode='tensor'`` through it;
mmseg's resizing of the logits to each image and everything after stay
eager. Sizes are static (``dynamic=False``: one specialised graph per
input size, the fastest kind); the first ``compile_sizes`` sizes met are
compiled, any later size runs the uncompiled network, so a folder of
images of many sizes cannot fill dynamo's cache (whose limit would send
it back to eager silently). On a CPU, Inductor's ``freezing`` turns the
weights into constants and prepacks oneDNN's convolutions. Calls with
autograd enabled run uncompiled: the graphs are for inference.
The replacements of :func:`accelerate` step aside under compilation
(:func:`~sfseg.acceleration.is_tracing`), so the graph holds the folded
network's own operators.
"""

import torch
import torch._dynamo.config as dynamo_config

from sfseg.utils import cpu_info

from .options import in_effect


class CompiledNetwork:
    """``inputs -> logits`` of ``model``, compiled per input size.

    Args:
        model: an mmseg ``EncoderDecoder`` (accelerated, eval mode).
        options (AccelerationOptions): ``compile_sizes`` and whether the
            model runs on a CPU decide the bound and ``freezing``.
    """

    def __init__(self, model, options):
        limit = dynamo_config.recompile_limit
        if options.compile_sizes > limit:
            raise ValueError(
                f"compile_sizes={options.compile_sizes} exceeds dynamo's "
                f'recompile_limit ({limit}), past which it runs eagerly '
                'without a word'
            )
        cpu_info.key_inductor_cache()
        self.model = model
        self.options = options
        on_cpu = next(model.parameters()).device.type == 'cpu'
        if on_cpu and options.compile_mode is not None:
            raise ValueError(
                f'compile_mode={options.compile_mode!r} is for a GPU; a CPU '
                'compiles with freezing'
            )
        # torch.compile takes a mode or options, not both
        self.compiled = torch.compile(
            self.network,
            dynamic=False,
            mode=options.compile_mode,
            options={'freezing': True} if on_cpu else None,
        )
        self.sizes = set()

    def network(self, inputs):
        """The uncompiled tensor path."""
        return self.model.decode_head(self.model.extract_feat(inputs))

    def __call__(self, inputs):
        options = in_effect(self.options)
        size = tuple(inputs.shape)
        if not options.compile or torch.is_grad_enabled():
            return self.network(inputs)
        if size not in self.sizes:
            if len(self.sizes) >= options.compile_sizes:
                return self.network(inputs)
            self.sizes.add(size)
        return self.compiled(inputs)


def use_compiled_network(model, options):
    """Route ``model.encode_decode`` (prediction) and ``model._forward``
    (``mode='tensor'``) through a :class:`CompiledNetwork`; -> that
    network."""
    network = CompiledNetwork(model, options)

    def encode_decode(inputs, batch_img_metas):
        logits = network(inputs)
        return model.decode_head.predict_by_feat(logits, batch_img_metas)

    model.encode_decode = encode_decode
    model._forward = lambda inputs, data_samples=None: network(inputs)
    model.compiled_network = network
    return network
