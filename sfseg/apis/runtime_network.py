"""A segmentor's network run by ONNX Runtime, OpenVINO or an AOTInductor
package inside mmseg.

Only the network (normalised image -> logits at the head's stride) moves
to the runtime; mmseg keeps doing everything around it (pipeline,
whole / slide inference, resizing to the input, post-processing), so
every backend yields the same ``SegDataSample`` as PyTorch.
"""

import tempfile

import torch

from sfseg.deploy import build_runtime_network
from sfseg.utils.user_errors import SFSegUserError

# traced size; height and width stay dynamic in the graph
TRACE_SHAPE = (128, 256)


class RuntimeNetwork:
    """``model``'s network exported (ONNX, or a ``.pt2`` package) and
    opened in ``backend``.

    Args:
        model: an mmseg segmentor on the CPU (left unchanged).
        backend (str): ``'onnxruntime'``, ``'openvino'`` or ``'aoti'``.
        precision (str): ``'fp32'``, ``'bf16'`` (OpenVINO) or ``'int8'``
            (static QDQ quantisation calibrated on ``calibration``).
        calibration: normalised N x 3 x H x W float32 arrays (int8 only).
        threads (int, optional): intra-op threads of the runtime.

    Called with a normalised N x 3 x H x W tensor, returns the logits
    (N x K x H/s x W/s, float32).
    """

    def __init__(
        self, model, backend, precision='fp32', calibration=(), threads=None
    ):
        if precision == 'int8' and not len(calibration):
            raise SFSegUserError(
                'int8 needs calibration images to set its activation '
                'ranges (e.g. a few images like the ones to segment)'
            )
        self._dir = tempfile.TemporaryDirectory(prefix='sfseg-deploy-')
        self.runner, self.file = build_runtime_network(
            model,
            backend,
            self._dir.name,
            precision,
            calibration,
            threads,
            TRACE_SHAPE,
        )

    def __call__(self, inputs):
        array = inputs.detach().to('cpu', torch.float32).numpy()
        return torch.from_numpy(self.runner(array))


def route_through(model, network):
    """Make ``model.encode_decode`` run ``network`` (in place).

    ``encode_decode`` is where mmseg's ``EncoderDecoder`` turns a batch of
    normalised images into logits at the input size; the runtime replaces
    the backbone and head forward, and the head's own ``predict_by_feat``
    resizes exactly as it does in PyTorch.
    """
    head = model.decode_head

    def encode_decode(inputs, batch_img_metas):
        return head.predict_by_feat(network(inputs), batch_img_metas)

    model.encode_decode = encode_decode
    model.runtime_network = network
    return model
