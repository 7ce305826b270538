"""Building blocks of the latency benchmark (``benchmark.py``).

The tool holds the registry of named variants, the timing loop and the
report; this module builds what it times: the segmentor of a config with
seeded random (or given) weights (:func:`build_segmentor`), the input
image and int8 calibration arrays (:func:`benchmark_inputs`), one runner
per :class:`BenchmarkVariant` (:func:`variant_runner`), and the
measurements around them: one call's time (:func:`time_call`: CUDA
events on a GPU), the fp32 matmul peak (:func:`matmul_peak`), peak memory
of one call (:func:`run_with_peak_memory`), agreement with a reference
output (:func:`output_agreement`), the machine
(:func:`machine_description`, :func:`configure_cuda`), which variants
cannot run on it and why (:func:`variant_skip_reason`), the figures
quoted from metafiles and model zoos (:func:`quoted_miou`,
:data:`QUOTED_FPS`) and the speed-vs-accuracy plot
(:func:`plot_speed_accuracy`).
The official models with the same weights are in
:mod:`sfseg.testing.official_twin`.
"""

import copy
import dataclasses
import os
import os.path as osp
import re
import subprocess
import time

import numpy as np
import torch
import yaml
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS

from sfseg.acceleration import (
    AccelerationOptions,
    accelerate,
    autocast_for,
    cpu_info,
)
from sfseg.acceleration.memory import (
    current_memory_bytes,
    peak_memory_bytes,
    reset_peak_memory,
)
from sfseg.deploy import network_inputs
from sfseg.utils import load_weights_strictly

# mmseg's real-time models benchmarked beside sfseg (``--peers``):
# name -> config path under mmseg's own configs.
PEERS = {
    'BiSeNetV1-R18': 'bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_'
    'cityscapes-1024x1024.py',
    'STDC1': 'stdc/stdc1_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'STDC2': 'stdc/stdc2_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'DDRNet-23-slim': 'ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_'
    'cityscapes-1024x1024.py',
    'PIDNet-S': 'pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py',
    'Fast-SCNN': 'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py',
}
# Paper GPU speed (quoted, not measured): Table 3 TITAN-RTX + TensorRT FPS
# at 1024x2048, and the mmseg model-zoo FPS of the peers.
QUOTED_FPS = {
    'sfnet_df1_8xb2-56k_cityscapes-1024x1024': '134.5 (TITAN-RTX, TRT)',
    'sfnet_df2_8xb2-56k_cityscapes-1024x1024': '103.1 (TITAN-RTX, TRT)',
    'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024': '33.3 (TITAN-RTX, TRT);'
    ' 18.1 (1080Ti)',
    'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024': '97.1 (TITAN-RTX, TRT)',
    'sfnet_stdc2_8xb2-56k_cityscapes-1024x1024': '79.9 (TITAN-RTX, TRT)',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024': '48.9 (TITAN-RTX,'
    ' TRT); 26.5 (1080Ti)',
    'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024': '119.1 (TITAN-RTX,'
    ' TRT)',
    'sfnet-lite_stdc2_8xb2-186k_cityscapes-1024x1024': '92.3 (TITAN-RTX, TRT)',
    'BiSeNetV1-R18': '31.77 (V100, mmseg)',
    'STDC1': '23.06 (V100, mmseg)',
    'STDC2': '23.71 (V100, mmseg)',
    'DDRNet-23-slim': '85.85 (A100, mmseg)',
    'PIDNet-S': '80.82 (A100, mmseg)',
    'Fast-SCNN': '56.45 (V100, mmseg)',
}


# what each backend runs (bf16 OpenVINO: its own bf16 inference hint;
# fp16: PyTorch autocast on CUDA only)
_PRECISIONS = {
    'pytorch': ('fp32', 'fp16', 'bf16'),
    'onnxruntime': ('fp32', 'int8'),
    'openvino': ('fp32', 'bf16', 'int8'),
}


@dataclasses.dataclass(frozen=True)
class BenchmarkVariant:
    """How one benchmark variant runs a segmentor.

    Args:
        options (AccelerationOptions): what :func:`accelerate` does to a
            copy of the model (``backend='pytorch'``). The runtime
            backends run the export of :func:`sfseg.deploy.export_network`,
            which always applies the defaults, so only those are accepted
            there.
        backend (str): ``'pytorch'``, ``'onnxruntime'`` or ``'openvino'``.
        precision (str): ``'fp32'``; ``'fp16'`` (PyTorch autocast, CUDA
            only); ``'bf16'`` (PyTorch: autocast; OpenVINO: its bf16
            hint); ``'int8'`` (runtimes: static QDQ quantisation).
        warp (str): how a runtime variant's graph warps: ``'gridsample'``
            (ONNX GridSample) or ``'gather'`` (no GridSample,
            :mod:`sfseg.deploy.export_warp`).
    """

    options: AccelerationOptions = AccelerationOptions()
    backend: str = 'pytorch'
    precision: str = 'fp32'
    warp: str = 'gridsample'

    def __post_init__(self):
        if self.backend not in _PRECISIONS:
            raise ValueError(f'backend must be one of {tuple(_PRECISIONS)}')
        if self.precision not in _PRECISIONS[self.backend]:
            raise ValueError(
                f'precision {self.precision!r} does not run in {self.backend}'
            )
        if not self.runs_in_pytorch and self.options != AccelerationOptions():
            raise ValueError(
                'runtime variants run the default export; options apply '
                'to the pytorch backend only'
            )
        if self.runs_in_pytorch and self.warp != 'gridsample':
            raise ValueError('warp applies to the runtime backends only')

    @property
    def runs_in_pytorch(self):
        return self.backend == 'pytorch'


def build_segmentor(config, checkpoint=None, seed=0):
    """``(model, cfg)``: the segmentor of ``config`` (a file path) as
    built, in train mode, on the CPU.

    Pretrained and ``init_cfg`` weights are dropped, so nothing is read
    from disk: the weights are the initialisers' draws after
    ``torch.manual_seed(seed)`` (the same for every call), or
    ``checkpoint``'s, loaded strictly (every key and shape must match).
    """
    cfg = Config.fromfile(config)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_weights_strictly(model, checkpoint)
    return model, cfg


def benchmark_inputs(model, shape, image=None, calibration=(), calib_count=4):
    """``(1 x 3 x H x W input tensor, int8 calibration arrays)`` at
    ``shape`` = (H, W).

    ``image`` None: standard normal noise, calibrated on ``calib_count``
    more noise arrays. Otherwise ``image`` (an RGB uint8 h x w x 3 array,
    or an image file) and the RGB ``calibration`` images are resized to
    ``shape`` and normalised by ``model``'s data preprocessor (benchmark.py
    draws them with :func:`sfseg.datasets.toy_driving.draw_scene`). The
    calibration arrays are 1 x 3 x H x W float32.
    """
    if image is None:
        gen = torch.Generator().manual_seed(0)
        noise = np.random.default_rng(0)
        calib = [
            noise.standard_normal((1, 3, *shape), dtype=np.float32)
            for _ in range(calib_count)
        ]
        return torch.randn(1, 3, *shape, generator=gen), calib
    import mmcv

    def normalise(rgb):
        if rgb.shape[:2] != tuple(shape):
            rgb = mmcv.imresize(rgb, tuple(shape[::-1]))
        return network_inputs(model, [rgb[..., ::-1]])[0]

    if isinstance(image, str):
        image = mmcv.imread(image, channel_order='rgb')
    calib = [normalise(rgb) for rgb in calibration]
    return torch.from_numpy(normalise(image)), calib


def variant_runner(model, variant, x, work_dir, threads=None, calib=()):
    """A callable that runs ``model`` on ``x`` as ``variant`` says and
    returns the logits (1 x K x h x w tensor on ``x``'s device).

    Args:
        model: an mmseg segmentor on ``x``'s device (left unchanged;
            SyncBN reverted and put in eval mode).
        variant (BenchmarkVariant): how to run it.
        x (Tensor): the 1 x 3 x H x W input.
        work_dir (str): where a runtime variant writes its ONNX files
            (``model.onnx``, ``model.int8.onnx``: one export and one
            quantisation per folder, shared by the variants).
        threads (int, optional): intra-op threads of a runtime.
        calib (list): 1 x 3 x H x W float32 arrays int8 is calibrated on.

    On CUDA a runtime variant runs ONNX Runtime's CUDA provider with IO
    binding (:func:`io_bound_runner`), or raises :class:`VariantSkipped`
    where it cannot (:func:`variant_skip_reason`).
    """
    model = revert_sync_batchnorm(model).eval()
    if variant.runs_in_pytorch:
        fast = accelerate(copy.deepcopy(model), variant.options)
        if variant.options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if variant.precision == 'fp32':
            return lambda: fast(x, None, mode='tensor')

        def run():
            with autocast_for(variant.precision, x.device):
                return fast(x, None, mode='tensor').float()

        return run
    from sfseg.deploy import build_runtime_network

    os.makedirs(work_dir, exist_ok=True)
    if x.device.type == 'cuda':
        return _onnxruntime_cuda_runner(model, variant, x, work_dir, threads)
    feed = x.cpu().numpy()
    runner, _ = build_runtime_network(
        model,
        variant.backend,
        work_dir,
        variant.precision,
        calib,
        threads,
        shape=tuple(x.shape[2:]),
        dynamic=False,
        warp=variant.warp,
    )
    return lambda: torch.from_numpy(runner(feed))


class VariantSkipped(Exception):
    """A variant that cannot run on this machine; the message says why
    (the benchmark reports it and goes on)."""


def _onnxruntime_cuda_runner(model, variant, x, work_dir, threads):
    """ONNX Runtime's CUDA provider on ``x`` with IO binding: the input
    and output stay in CUDA memory, so no host-device copy is timed."""
    from sfseg.deploy import OnnxRuntimeRunner, export_network

    reason = variant_skip_reason(variant, x.device)
    if reason:
        raise VariantSkipped(reason)
    onnx_file = osp.join(work_dir, f'model.{variant.warp}.onnx')
    if not osp.exists(onnx_file):
        export_network(
            model,
            onnx_file,
            tuple(x.shape[2:]),
            dynamic=False,
            warp=variant.warp,
        )
    index = x.device.index
    index = torch.cuda.current_device() if index is None else index
    provider = ('CUDAExecutionProvider', {'device_id': index})
    session = OnnxRuntimeRunner(
        onnx_file, threads, [provider, 'CPUExecutionProvider']
    ).session
    if session.get_providers()[0] != 'CUDAExecutionProvider':
        raise VariantSkipped(
            'skipped: ONNX Runtime could not start its CUDA provider '
            f'(session providers: {", ".join(session.get_providers())})'
        )
    return io_bound_runner(session, x)


def io_bound_runner(session, x):
    """A callable that runs ONNX Runtime ``session`` on tensor ``x`` with
    input and output bound to ``x``'s memory (CPU or CUDA) through
    ``session.io_binding()``, and returns the output tensor (the same
    tensor, overwritten, on every call): nothing is copied between host
    and device around the run."""
    x = x.float().contiguous()
    kind = x.device.type
    index = x.device.index or 0
    name = session.get_inputs()[0].name
    shape = session.get_outputs()[0].shape
    if not all(isinstance(d, int) for d in shape):  # one call tells
        shape = session.run(None, {name: x.cpu().numpy()})[0].shape
    out = torch.empty(tuple(shape), dtype=torch.float32, device=x.device)
    binding = session.io_binding()
    binding.bind_input(
        name, kind, index, np.float32, tuple(x.shape), x.data_ptr()
    )
    binding.bind_output(
        session.get_outputs()[0].name,
        kind,
        index,
        np.float32,
        tuple(out.shape),
        out.data_ptr(),
    )
    if kind == 'cuda':  # x and out were written on torch's stream
        torch.cuda.synchronize(x.device)

    def run():
        # ONNX Runtime synchronises its CUDA stream before returning
        session.run_with_iobinding(binding)
        return out

    run.inputs = x  # keeps the bound input alive
    return run


def synchronize(device):
    """Wait for ``device``'s queued kernels (no-op on the CPU)."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(fn, device, event=None):
    """Seconds one call of ``fn`` takes on ``device``.

    CUDA: between a pair of ``torch.cuda.Event(enable_timing=True)``
    recorded on the current stream before and after the call (``event``
    replaces the class, for tests). CPU: wall clock around the call.
    """
    if torch.device(device).type == 'cuda':
        event = event or torch.cuda.Event
        start, end = event(enable_timing=True), event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3  # ms
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_peak(size=4096, repeats=3, device='cpu'):
    """Best fp32 GFLOP/s of a size x size by size x size matmul (on CUDA
    under the TF32 setting in force: :func:`configure_cuda`)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    synchronize(device)
    best = min(
        time_call(lambda: torch.mm(a, b), device) for _ in range(repeats)
    )
    return 2 * size**3 / best / 1e9


def configure_cuda(tf32):
    """cuDNN autotuning on, and TF32 for fp32 convolutions and matmuls
    on (``tf32``) or off; returns the settings as the report states
    them."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    return dict(cudnn_benchmark=True, tf32='on' if tf32 else 'off')


def run_with_peak_memory(fn, device):
    """``(fn() as float32, MB allocated at the peak of the call)``.

    CUDA: allocator peak above what was allocated before. CPU: peak
    resident set size above the resident size before (``None`` where the
    kernel's high-water mark cannot be reset).
    """
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        out = fn().float()
        return out, (torch.cuda.max_memory_allocated(device) - base) / 2**20
    base = current_memory_bytes() / 2**20
    tracked = reset_peak_memory()
    out = fn().float()
    return out, peak_memory_bytes() / 2**20 - base if tracked else None


def output_agreement(out, ref):
    """``(max abs difference, share of pixels with the same argmax)`` of
    logits ``out`` against ``ref`` (N x K x H x W; ``out`` is resized
    bilinearly to ``ref``'s size first where the two differ)."""
    if out.shape != ref.shape:
        out = torch.nn.functional.interpolate(
            out, ref.shape[2:], mode='bilinear', align_corners=True
        )
    diff = float((out - ref).abs().max())
    return diff, float((out.argmax(1) == ref.argmax(1)).float().mean())


def quoted_miou(config_path):
    """mIoU quoted in the config folder's ``metafile.yaml``: e.g.
    ``'78.3 (val); 78.1 (test)'``, or ``'-'``."""
    name = osp.splitext(osp.basename(config_path))[0]
    meta = osp.join(osp.dirname(config_path), 'metafile.yaml')
    if not osp.isfile(meta):
        return '-'
    with open(meta) as f:
        models = yaml.safe_load(f).get('Models', [])
    for model in models:
        if model['Name'] != name:
            continue
        results = model.get('Results') or []
        if isinstance(results, dict):  # mmseg metafiles use one dict
            results = [results]
        parts = []
        for r in results:
            miou = (r.get('Metrics') or {}).get('mIoU')
            if miou is not None:
                split = str(r.get('Dataset', '')).split()
                tag = split[-1] if split else '?'
                tag = 'val' if tag == 'Cityscapes' else tag  # mmseg: val
                parts.append(f'{miou} ({tag})')
        return '; '.join(parts) or '-'
    return '-'


def mmseg_config(rel):
    """Path of mmseg's own config ``rel`` (e.g. a :data:`PEERS` value)."""
    import mmseg

    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', rel)


def allocator():
    """The malloc in use, as far as the environment tells."""
    preload = os.environ.get('LD_PRELOAD', '')
    for name in ('jemalloc', 'tcmalloc', 'mimalloc'):
        if name in preload:
            return name
    return 'glibc' + (
        ' (tuned)' if os.environ.get('MALLOC_TRIM_THRESHOLD_') else ''
    )


def machine_description(device='cpu'):
    """What the report says of the machine: allocator, CPU and its ISA;
    on CUDA also the GPU (:func:`gpu_description`)."""
    description = dict(
        malloc_tuned=bool(os.environ.get('MALLOC_TRIM_THRESHOLD_')),
        allocator=allocator(),
        cpu=cpu_info.describe(),
        cpu_model=cpu_info.cpu_model(),
        isa=cpu_info.isa_extensions(),
        native_bf16=cpu_info.has_native_bf16(),
    )
    if torch.device(device).type == 'cuda':
        description.update(gpu_description(device))
    return description


def gpu_description(device):
    """GPU name, compute capability, memory, NVIDIA driver, and the CUDA
    and cuDNN versions torch runs with."""
    props = torch.cuda.get_device_properties(torch.device(device))
    return dict(
        gpu=props.name,
        gpu_capability=f'{props.major}.{props.minor}',
        gpu_memory_gib=round(props.total_memory / 2**30, 1),
        driver=nvidia_driver_version(),
        cuda=torch.version.cuda,
        cudnn=cudnn_version(),
    )


def nvidia_driver_version():
    """The NVIDIA driver's version (``nvidia-smi``), or ``'unknown'``."""
    try:
        proc = subprocess.run(
            [
                'nvidia-smi',
                '--query-gpu=driver_version',
                '--format=csv,noheader',
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    lines = proc.stdout.split()
    return lines[0] if proc.returncode == 0 and lines else 'unknown'


def cudnn_version():
    """cuDNN's version as ``'9.13.0'`` (``None`` without cuDNN)."""
    version = torch.backends.cudnn.version()
    if not version:
        return None
    major = version // 10000 if version >= 90000 else version // 1000
    rest = version % 10000 if version >= 90000 else version % 1000
    return f'{major}.{rest // 100}.{rest % 100}'


def bf16_skip_reason(device, force=False):
    """Why bf16 is not timed on the CPU ``device`` (``None``: it is).

    bf16 without AVX-512 BF16 / AMX is emulated and several times slower
    than fp32, so timing it would only mislead; ``force`` times it anyway.
    """
    if torch.device(device).type != 'cpu' or force:
        return None
    if cpu_info.has_native_bf16():
        return None
    return (
        f'skipped: no native bf16 on {cpu_info.cpu_model()} '
        f'({", ".join(cpu_info.isa_extensions()) or "no AVX2"}); '
        '--force-bf16 times the emulated path'
    )


def variant_skip_reason(variant, device, force_bf16=False):
    """Why ``variant`` is not timed on ``device`` (``None``: it is).

    CPU: fp16 (CUDA only) and emulated bf16 (:func:`bf16_skip_reason`).
    CUDA: bf16 on GPUs without native bf16 (compute capability below 8.0),
    int8 and OpenVINO (CPU only), and ONNX Runtime without its CUDA
    provider (the ``onnxruntime-gpu`` build).
    """
    device = torch.device(device)
    if device.type != 'cuda':
        if variant.precision == 'fp16':
            return (
                'skipped: fp16 runs on CUDA only (a CPU emulates it, '
                'many times slower than fp32)'
            )
        if variant.precision == 'bf16':
            return bf16_skip_reason(device, force_bf16)
        return None
    if not variant.runs_in_pytorch:
        return _cuda_runtime_skip_reason(variant)
    if variant.precision == 'bf16' and not torch.cuda.is_bf16_supported(
        including_emulation=False
    ):
        return (
            f'skipped: no native bf16 on {torch.cuda.get_device_name(device)}'
            ' (compute capability 8.0, Ampere, or later)'
        )
    return None


def _cuda_runtime_skip_reason(variant):
    if variant.backend != 'onnxruntime' or variant.precision != 'fp32':
        return (
            f'skipped: {variant.backend} {variant.precision} runs on the '
            'CPU only (--device cpu)'
        )
    try:
        import onnxruntime as ort
    except ImportError:
        return 'skipped: onnxruntime is not installed'
    providers = ort.get_available_providers()
    if 'CUDAExecutionProvider' not in providers:
        return (
            f'skipped: onnxruntime {ort.__version__} has no '
            f'CUDAExecutionProvider ({", ".join(providers)}); '
            'onnxruntime-gpu has it'
        )
    return None


def latency_label(result):
    """The plot's x label: GPU or CPU latency of ``result``'s input."""
    shape = f'1x3x{result["shape"][0]}x{result["shape"][1]}'
    if str(result['device']).startswith('cuda'):
        return f'GPU latency, best variant (s, {shape}, {result["gpu"]})'
    return (
        f'CPU latency, best variant (s, {shape}, {result["threads"]} threads)'
    )


def plot_speed_accuracy(result, path):
    """Best latency of every row against its quoted mIoU, to ``path``
    (red: sfseg, blue: the :data:`PEERS`)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for row in result['rows']:
        numbers = re.findall(r'([0-9]+\.[0-9]+)', row['miou'])
        if not numbers:
            continue
        best = min(v['median_s'] for v in row['variants'].values())
        miou = float(numbers[0])
        sfseg = row['name'] not in PEERS
        ax.scatter(best, miou, c='tab:red' if sfseg else 'tab:blue')
        ax.annotate(row['name'].split('_8xb')[0], (best, miou), fontsize=7)
    ax.set_xscale('log')
    ax.set_xlabel(latency_label(result))
    ax.set_ylabel('Cityscapes mIoU (quoted; val where given, else test)')
    ax.set_title('speed vs accuracy (red: sfseg, blue: mmseg peers)')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
