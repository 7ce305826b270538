"""mmseg's inference entry points with sfseg's config names, strict
weights and the fast CPU path.

- :func:`init_model` is ``mmseg.apis.init_model`` plus: ``config`` may be
  an sfseg config name or ``sfseg::<folder>/<name>.py``; the checkpoint
  must fit the model exactly (:func:`sfseg.utils.load_weights_strictly`);
  on CPU the model is prepared for fast inference
  (:func:`sfseg.acceleration.accelerate`: BN folded into the convolutions,
  deep supervision removed, NNPACK's FFT / Winograd kernels for the 3x3
  convolutions they run faster) and picks the faster of channels-last and
  NCHW from its first five calls of each input size
  (:mod:`sfseg.acceleration.layout_tuner`; a single call runs
  channels-last with oneDNN and times nothing).
- :class:`SFSegInferencer` is ``MMSegInferencer`` with the same three
  changes.

``fast=False`` keeps the plain eval-mode model (e.g. to train or to read
BN statistics); outputs of both agree within 1e-4. The inferencer also
takes ``backend`` (``'pytorch'``; ``'onnxruntime'`` or ``'openvino'``:
the network is exported to ONNX and run there; ``'aoti'``: compiled into
an AOTInductor package and run from it; see
:mod:`sfseg.apis.runtime_network`) and ``precision``: ``'auto'`` (bf16
only on CPUs with native bf16, see :mod:`sfseg.acceleration.precision`),
``'fp32'``, ``'bf16'`` or ``'int8'`` (ONNX Runtime / OpenVINO, calibrated
on ``calibration`` images).
"""

import os
import warnings

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.apis import MMSegInferencer
from mmseg.apis import init_model as mmseg_init_model
from mmseg.utils import dataset_aliases, get_classes, get_palette

from sfseg.acceleration import (
    AccelerationOptions,
    accelerate,
    autocast_for,
    tune_layout,
)
from sfseg.deploy.backends import resolve_precision
from sfseg.utils import (
    CheckpointMismatchError,
    ConfigNotFoundError,
    check_state_dict,
    load_weights_strictly,
    resolve_config,
)
from sfseg.utils.checkpoint_formats import fit_checkpoint
from sfseg.utils.strict_loading import state_dict_of

from .runtime_network import RuntimeNetwork, route_through


def _on_cpu(model):
    param = next(model.parameters(), None)
    return param is None or param.device.type == 'cpu'


def _use_fast_path(fast, model, compile=False):
    if compile and fast is False:
        raise ValueError('compile=True compiles the fast path: not with fast')
    return compile or (_on_cpu(model) if fast is None else fast)


def _prepare_fast(model, compile=False):
    """BN folding, NNPACK kernels where faster, and on CPU the faster of
    channels-last and NCHW chosen from the first calls
    (:mod:`sfseg.acceleration.layout_tuner`); with ``compile``, BN folding
    and channels-last, then the network compiled per input size
    (:class:`~sfseg.acceleration.CompiledNetwork`)."""
    on_cpu = _on_cpu(model)
    if compile:
        accelerate(
            model, AccelerationOptions(channels_last=True, compile=True)
        )
        return
    options = AccelerationOptions(channels_last=True, nnpack=on_cpu)
    accelerate(model, options)
    if on_cpu:
        tune_layout(model, options)


def dataset_meta_of(checkpoint, model):
    """Classes and palette as mmseg reads them: the checkpoint's meta, or
    else the first known dataset with the head's class count."""
    meta = checkpoint.get('meta') or {}
    if 'dataset_meta' in meta:
        found = meta['dataset_meta']
        return {
            'classes': found.get('classes'),
            'palette': found.get('palette'),
        }
    if 'CLASSES' in meta:
        return {'classes': meta['CLASSES'], 'palette': meta.get('PALETTE')}
    num_classes = model.decode_head.num_classes
    name = next(
        (n for n in dataset_aliases if len(get_classes(n)) == num_classes),
        None,
    )
    warnings.warn(
        'the checkpoint has no class names; using those of '
        f'{name or "cityscapes"} ({num_classes} classes)'
    )
    name = name or 'cityscapes'
    return {'classes': get_classes(name), 'palette': get_palette(name)}


def init_model(
    config,
    checkpoint=None,
    device='cpu',
    cfg_options=None,
    fast=None,
    compile=False,
):
    """Build a segmentor for inference; see the module docstring.

    Args:
        config: a config file, an sfseg config name, ``sfseg::...`` or a
            ``Config``.
        checkpoint: path of a checkpoint, or ``None`` for random weights.
        device: ``'cpu'`` (default, unlike mmseg's ``'cuda:0'``) or a
            CUDA device.
        cfg_options: overrides merged into the config.
        fast: BN folding + channels-last; ``None`` means on CPU only.
        compile: the fast path's network compiled with ``torch.compile``,
            one graph per input size (the first call at a size compiles).
    """
    if not isinstance(config, Config):
        config = Config.fromfile(resolve_config(config))
    model = mmseg_init_model(config, None, 'cpu', cfg_options)
    if checkpoint is not None:
        loaded = load_weights_strictly(model, checkpoint)
        model.dataset_meta = dataset_meta_of(loaded, model)
    model = revert_sync_batchnorm(model).to(device).eval()
    if _use_fast_path(fast, model, compile):
        _prepare_fast(model, compile)
    return model


class SFSegInferencer(MMSegInferencer):
    """``MMSegInferencer`` with sfseg config names, strict weights and the
    fast CPU path (``fast``; ``None`` means on CPU only; ``compile``
    compiles its network per input size). Tools that call
    it once per image pass ``show_progress=False`` and show their own.

    ``backend``, ``precision``, ``calibration`` (images: paths or BGR
    arrays, for int8) and ``threads`` (of the ONNX Runtime / OpenVINO
    runtime) choose where and how the network runs; see the module
    docstring.
    """

    def __init__(
        self,
        model,
        weights=None,
        classes=None,
        palette=None,
        dataset_name=None,
        device=None,
        scope='mmseg',
        fast=None,
        compile=False,
        show_progress=True,
        precision='fp32',
        backend='pytorch',
        calibration=None,
        threads=None,
    ):
        if isinstance(model, (str, os.PathLike)):
            try:
                model = resolve_config(model)
            except ConfigNotFoundError:
                if str(model).endswith('.py') or '::' in str(model):
                    raise
                # not a file: let mmseg look the name up in its metafiles
        self._weights_name = weights if isinstance(weights, str) else None
        super().__init__(
            model, weights, classes, palette, dataset_name, device, scope
        )
        self.show_progress = show_progress
        self.device = next(self.model.parameters()).device
        self.backend = backend
        self.precision = resolve_precision(precision, self.device, backend)
        if backend != 'pytorch':
            calib = ()
            if self.precision == 'int8':
                calib = self.normalised_inputs(calibration or [])
            network = RuntimeNetwork(
                self.model, backend, self.precision, calib, threads
            )
            route_through(self.model, network)
        elif _use_fast_path(fast, self.model, compile):
            _prepare_fast(self.model, compile)

    def normalised_inputs(self, images):
        """``images`` as the network sees them: N x 3 x H x W float32
        arrays after the pipeline and the data preprocessor."""
        arrays = []
        for data in self.preprocess(self._inputs_to_list(images)):
            inputs = self.model.data_preprocessor(data, False)['inputs']
            arrays.append(inputs.float().cpu().numpy())
        return arrays

    def forward(self, inputs, **kwargs):
        if self.backend != 'pytorch' or self.precision not in (
            'bf16',
            'fp16',
        ):
            return super().forward(inputs, **kwargs)
        with autocast_for(self.precision, self.device):
            samples = super().forward(inputs, **kwargs)
        for sample in samples:  # half logits -> fp32 for the outputs
            sample.seg_logits.data = sample.seg_logits.data.float()
        return samples

    def _load_weights_to_model(self, model, checkpoint, cfg):
        if checkpoint is not None:
            name = self._weights_name or 'checkpoint'
            try:
                checkpoint = fit_checkpoint(
                    checkpoint, model.state_dict(), name
                )
                check_state_dict(model, state_dict_of(checkpoint))
            except CheckpointMismatchError as err:
                raise CheckpointMismatchError(
                    f'{name} does not fit the model: {err}'
                ) from None
        super()._load_weights_to_model(model, checkpoint, cfg)
