"""The backends inference runs in and the precisions each runs: the one
table that ``segment.py --backend``, the inferencer and the benchmark
read. A new runtime adds its row here and its runner to
:func:`sfseg.deploy.runtimes.open_runtime`."""

from sfseg.acceleration.precision import (
    PYTORCH_PRECISIONS,
    resolve_for_device,
)
from sfseg.utils.user_errors import SFSegUserError

# backend -> precisions it runs (bf16 in OpenVINO: its own bf16 inference
# hint; int8: static QDQ quantisation of the ONNX graph; aoti: the
# network compiled ahead of time by Inductor into a .pt2 package)
PRECISIONS_OF = {
    'pytorch': PYTORCH_PRECISIONS,
    'onnxruntime': ('fp32', 'int8'),
    'openvino': ('fp32', 'bf16', 'int8'),
    'aoti': ('fp32',),
}
BACKENDS = tuple(PRECISIONS_OF)
RUNTIMES = tuple(b for b in BACKENDS if b != 'pytorch')
# the runtimes that run the ONNX graph
ONNX_RUNTIMES = ('onnxruntime', 'openvino')


def resolve_precision(precision='auto', device='cpu', backend='pytorch'):
    """``'fp32'``, ``'bf16'`` or ``'int8'`` for ``precision`` on
    ``device`` with ``backend`` (see
    :func:`sfseg.acceleration.precision.resolve_for_device`); the
    runtimes run on the CPU only."""
    if backend not in BACKENDS:
        raise SFSegUserError(
            f'backend must be one of {BACKENDS}, got {backend!r}'
        )
    if backend != 'pytorch' and not str(device).startswith('cpu'):
        raise SFSegUserError(
            f'backend {backend} runs on the CPU here; use --device cpu '
            '(or the pytorch backend on the GPU)'
        )
    alternatives = [b for b, p in PRECISIONS_OF.items() if precision in p]
    return resolve_for_device(
        precision, device, PRECISIONS_OF[backend], backend, alternatives
    )
