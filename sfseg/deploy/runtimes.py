"""Run an exported model in ONNX Runtime or OpenVINO on the CPU.

Both runners take the normalised N x 3 x H x W float32 array the ONNX
graph expects and return its first output as a float32 array, so callers
(``SFSegInferencer``, the benchmark, ``pytorch2onnx.py --verify``) treat
the two runtimes alike.
"""

import os

import numpy as np

from sfseg.utils import cpu_info
from sfseg.utils.user_errors import SFSegUserError

from .aoti_export import AOTIRunner
from .backends import RUNTIMES


class OnnxRuntimeRunner:
    """An ONNX Runtime session with ``threads`` intra-op threads
    (``providers``: default the CPU execution provider)."""

    def __init__(self, onnx_file, threads=None, providers=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(onnx_file),
            options,
            providers=providers or ['CPUExecutionProvider'],
        )
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, inputs):
        feed = {self.input_name: np.ascontiguousarray(inputs, np.float32)}
        return self.session.run(None, feed)[0]


def openvino_refusal():
    """Why OpenVINO cannot run in this process, or ``None``.

    OpenVINO's CPU plugin picks AVX-512 kernels on a CPU that has them even
    where ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below AVX-512 (as when AVX2
    kernels are emulated on an AVX-512 machine); its oneDNN then refuses
    them, and compiling fails ("object is not initialized") or crashes.
    """
    cap = os.environ.get('ONEDNN_MAX_CPU_ISA', '').upper()
    if not cap or cap in ('ALL', 'DEFAULT') or cap.startswith('AVX512'):
        return None
    if 'AVX-512' not in cpu_info.isa_extensions():
        return None
    return (
        f'OpenVINO does not run with ONEDNN_MAX_CPU_ISA={cap} on '
        f'{cpu_info.cpu_model()} (an AVX-512 CPU): its CPU plugin picks '
        'AVX-512 kernels that the variable forbids and fails; unset '
        'ONEDNN_MAX_CPU_ISA or use --backend onnxruntime'
    )


def runtime_refusal(runtime):
    """Why ``runtime`` cannot run in this process, or ``None``."""
    return openvino_refusal() if runtime == 'openvino' else None


class OpenVINORunner:
    """An OpenVINO CPU model compiled for latency.

    ``precision`` is sfseg's name (``'fp32'``, ``'bf16'``, or ``'int8'``
    for a QDQ int8 file whose float parts run in fp32). OpenVINO itself
    picks bf16 on CPUs with native bf16, which would change outputs behind
    the user's back, so the hint is always set. A model with dynamic
    height and width is compiled once per input size (cached), as
    OpenVINO runs static shapes fastest.
    """

    HINTS = {'fp32': 'f32', 'int8': 'f32', 'bf16': 'bf16'}

    def __init__(self, onnx_file, threads=None, precision='fp32'):
        refusal = openvino_refusal()
        if refusal:
            raise SFSegUserError(refusal)
        import openvino as ov

        self.core = ov.Core()
        self.model = self.core.read_model(str(onnx_file))
        self.config = {
            'PERFORMANCE_HINT': 'LATENCY',
            'INFERENCE_PRECISION_HINT': self.HINTS[precision],
        }
        if threads:
            self.config['INFERENCE_NUM_THREADS'] = int(threads)
        self._compiled = {}

    def _request(self, shape):
        request = self._compiled.get(shape)
        if request is None:
            model = self.model.clone()
            if model.inputs[0].get_partial_shape().is_dynamic:
                model.reshape({model.inputs[0].any_name: list(shape)})
            compiled = self.core.compile_model(model, 'CPU', self.config)
            request = compiled.create_infer_request()
            self._compiled[shape] = request
        return request

    def __call__(self, inputs):
        inputs = np.ascontiguousarray(inputs, np.float32)
        request = self._request(tuple(inputs.shape))
        return np.array(request.infer({0: inputs})[0], copy=True)


def open_runtime(runtime, onnx_file, threads=None, precision='fp32'):
    """A runner of ``onnx_file`` in ``runtime`` (one of ``RUNTIMES``; for
    ``'aoti'`` a ``.pt2`` package)."""
    if runtime == 'aoti':
        return AOTIRunner(onnx_file, threads)
    if runtime == 'onnxruntime':
        if precision == 'bf16':
            raise SFSegUserError(
                'ONNX Runtime has no bf16 CPU path; use --backend openvino '
                'or pytorch for bf16'
            )
        return OnnxRuntimeRunner(onnx_file, threads)
    if runtime == 'openvino':
        return OpenVINORunner(onnx_file, threads, precision)
    raise SFSegUserError(f'runtime must be one of {RUNTIMES}, got {runtime!r}')
