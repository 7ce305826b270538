"""The panoptic path of :func:`sfseg.apis.segment_files.segment`,
registered by ``import sfseg.det`` (:mod:`sfseg.apis.segment_tasks`)."""

from sfseg.deploy.backends import ONNX_RUNTIMES
from sfseg.utils import SFSegUserError

from .panoptic_model import RuntimePredictor, init_panoptic_model
from .panoptic_outputs import PanopticOutputs


def panoptic_outputs(
    config, checkpoint, out_dir, device, opacity, max_size, **options
):
    """The :class:`~sfseg.det.apis.panoptic_outputs.PanopticOutputs` of a
    panoptic config: the detector in PyTorch, or with ``backend``
    ``onnxruntime`` / ``openvino`` its network exported and run there
    (:class:`~sfseg.det.apis.panoptic_model.RuntimePredictor`), in fp32;
    ``fast`` and other precisions are refused."""
    backends = ('pytorch',) + ONNX_RUNTIMES
    if options['backend'] not in backends:
        raise SFSegUserError(
            f'--backend {options["backend"]}: the panoptic path runs in '
            f'{", ".join(backends)} (AOTInductor packages are built for '
            'semantic segmentors)'
        )
    if options['precision'] not in ('auto', 'fp32'):
        raise SFSegUserError(
            f'--precision {options["precision"]}: the panoptic path runs in '
            'fp32 only for now; use --precision auto or fp32'
        )
    if options['fast']:
        raise SFSegUserError(
            '--fast (BN folding, NNPACK, layout tuning) is for semantic '
            'segmentors only; leave it out for a panoptic model'
        )
    model = init_panoptic_model(config, checkpoint, device)
    predictor = None
    if options['backend'] != 'pytorch':
        predictor = RuntimePredictor(model, options['backend'])
    return PanopticOutputs(model, out_dir, opacity, max_size, predictor)
