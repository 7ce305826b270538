"""Export an sfseg (or any mmseg) segmentor to ONNX and verify it.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] \\
        --output model.onnx --shape 1024 2048 --verify

The exported network is the inference one (``sfseg.deploy.export_network``:
BN folded, deep supervision removed). Height and width are dynamic by
default: SFNet's flow warping builds its
sampling grid from the run-time input size, so the exported graph stays
correct at sizes other than the traced one (``--verify`` checks the traced
size and a second one, or the ``--verify-shape`` sizes). The flow warp is
written as ONNX GridSample (``--warp gridsample``, opset 16 to 18; TensorRT
>= 8.5 runs it natively) or, with ``--warp gather``, as Gather and
element-wise operators that every runtime has (no GridSample node; opset
13 to 20); ``sfseg.deploy.onnx_export`` says why. The graph returns
logits at the head's resolution (stride 4 for SFNet), or full-resolution
labels with ``--argmax``.
"""

import argparse
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from sfseg.deploy import (
    ONNX_RUNTIMES,
    export_network,
    network_inputs,
)
from sfseg.deploy import quantize_onnx as quantize
from sfseg.deploy.export_warp import WARPS
from sfseg.deploy.onnx_export import check_opset
from sfseg.deploy.runtimes import runtime_refusal
from sfseg.deploy.verify import verify
from sfseg.utils import (
    exit_on_user_error,
    load_weights_strictly,
    resolve_config,
)


def build_model(config, checkpoint=None, cfg_options=None):
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(resolve_config(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.pop('pretrained', None)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint:
        load_weights_strictly(model, checkpoint)
    return model.eval()


def calibration_inputs(model, image_dir, shape, count=8, seed=0):
    """Normalised N x 3 x H x W arrays from ``image_dir`` (or random)."""
    if image_dir is None:
        gen = np.random.default_rng(seed)
        return [
            gen.standard_normal((1, 3, *shape), dtype=np.float32)
            for _ in range(count)
        ]
    import mmcv

    files = sorted(
        osp.join(image_dir, f)
        for f in os.listdir(image_dir)
        if f.lower().endswith(('.png', '.jpg', '.jpeg'))
    )[:count]
    if not files:
        raise FileNotFoundError(f'no calibration images in {image_dir}')
    return network_inputs(model, [mmcv.imread(f) for f in files], shape)


def simplify(output):
    try:
        import onnx
        import onnxsim
    except ImportError:
        print('onnxsim is not installed; skipping --simplify')
        return
    model, ok = onnxsim.simplify(onnx.load(output))
    if not ok:
        raise RuntimeError('onnxsim could not validate the simplified model')
    onnx.save(model, output)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights (optional)')
    parser.add_argument('--output', required=True, help='ONNX file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[1024, 2048],
        metavar=('H', 'W'),
        help='traced input size',
    )
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument(
        '--warp',
        choices=WARPS,
        default='gridsample',
        help='flow warp as ONNX GridSample or as Gather (no GridSample)',
    )
    parser.add_argument(
        '--static', action='store_true', help='fix height and width to --shape'
    )
    parser.add_argument(
        '--dynamo',
        action='store_true',
        help='use the torch.export-based exporter',
    )
    parser.add_argument(
        '--argmax', action='store_true', help='output full-resolution labels'
    )
    parser.add_argument(
        '--verify',
        action='store_true',
        help='check the runtimes (--verify-runtimes) against PyTorch',
    )
    parser.add_argument(
        '--verify-runtimes',
        nargs='+',
        choices=ONNX_RUNTIMES,
        help='runtimes --verify runs (default: all that run here)',
    )
    parser.add_argument(
        '--verify-shape',
        type=int,
        nargs=2,
        action='append',
        metavar=('H', 'W'),
        help='a size --verify checks (repeatable; any size, default: '
        '--shape and --shape + (32, 64))',
    )
    parser.add_argument(
        '--simplify', action='store_true', help='run onnxsim (if installed)'
    )
    parser.add_argument(
        '--quantize',
        choices=['dynamic', 'static'],
        help='also write an int8 model (<output>.int8.onnx)',
    )
    parser.add_argument(
        '--calib-dir', help='images to calibrate static int8 ranges'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shape = tuple(args.shape)
    if shape[0] % 32 or shape[1] % 32:
        sys.exit(f'error: --shape {shape} must be a multiple of 32')
    try:
        check_opset(args.opset, args.warp)
    except ValueError as err:
        sys.exit(f'error: {err}')
    model = build_model(args.config, args.checkpoint, args.cfg_options)
    wrapper = export_network(
        model,
        args.output,
        shape,
        opset=args.opset,
        dynamic=not args.static,
        dynamo=args.dynamo,
        argmax=args.argmax,
        warp=args.warp,
    )
    if args.simplify:
        simplify(args.output)
    print(
        f'exported {args.output} (opset {args.opset}, '
        f'{"static" if args.static else "dynamic"} H/W, warp {args.warp})'
    )
    if args.quantize:
        int8 = osp.splitext(args.output)[0] + '.int8.onnx'
        calib = calibration_inputs(model, args.calib_dir, shape)
        quantize(args.output, int8, args.quantize, calib)
        print(f'int8 ({args.quantize}) model written to {int8}')
    if args.verify:
        other = (shape[0] + 32, shape[1] + 64)
        shapes = [shape] if args.static else [shape, other]
        if args.verify_shape and not args.static:
            shapes = [tuple(s) for s in args.verify_shape]
        what = 'pixels disagreeing' if args.argmax else 'max abs diff'
        runtimes = args.verify_runtimes
        if runtimes is None:
            runtimes = [r for r in ONNX_RUNTIMES if not runtime_refusal(r)]
            for runtime in sorted(set(ONNX_RUNTIMES) - set(runtimes)):
                print(f'verify {runtime} skipped: {runtime_refusal(runtime)}')
        for runtime in runtimes:
            diffs = verify(wrapper, args.output, shapes, runtime=runtime)
            for size, diff in diffs.items():
                print(
                    f'verify {runtime} {size[0]}x{size[1]}: {what} {diff:.2e}'
                )


if __name__ == '__main__':
    with exit_on_user_error():
        main()
