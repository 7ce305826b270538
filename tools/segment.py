"""Segment an image, a folder of images or a video and write overlays.

    python tools/segment.py INPUT CONFIG CHECKPOINT --out-dir OUT
    mim run sfseg segment INPUT CONFIG CHECKPOINT --out-dir OUT

Images: ``OUT/vis/<stem>.png`` (colour overlay) and
``OUT/pred/<stem>_pred.png`` (class index per pixel), named after each
input; folders are walked recursively and their sub-folders mirrored.
Outputs are written under a temporary name and renamed, so a killed run
leaves no truncated file; ``--skip-existing`` continues a half-done
folder. Images over ``--max-pixels`` are refused from their header,
before decoding, or with ``--oversize shrink`` read at that size (a JPEG
decoded at 1/2, 1/4 or 1/8 by its decoder, never at full size) and their
outputs written at it.
In a folder a broken or too small image is reported and skipped
(``--no-skip-bad`` stops instead); the run ends with a summary, and the
exit status is 1 if anything was skipped. Class names are written on
overlays of images up to 4 megapixels. Images whose long side exceeds
``--max-size`` are segmented at that size and the labels scaled back
(nearest), which bounds the memory; the peak memory is printed.
Videos (.mp4, .avi, .mov, .mkv) go to ``OUT/<name>_overlay.mp4`` with
the frames per second printed. CONFIG may be a file, an sfseg config name
or ``sfseg::<folder>/<name>.py``; the checkpoint must fit the config.
``--backend onnxruntime|openvino`` runs the network in that runtime
(exported on the fly); ``--precision int8`` there calibrates on
``--calib`` images (default: the first 8 inputs or video frames).
"""

import argparse
import functools
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmengine.utils import ProgressBar
from mmseg.structures import SegDataSample

from sfseg.acceleration import cpu_info
from sfseg.acceleration.layout_tuner import SCHEDULE
from sfseg.acceleration.memory import peak_memory_bytes, reset_peak_memory
from sfseg.apis import (
    BACKENDS,
    OVERSIZE,
    PRECISIONS,
    InputImageError,
    SFSegInferencer,
    check_min_size,
    fit_max_size,
    read_image,
    resolve_precision,
)
from sfseg.utils import exit_on_user_error

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
DEFAULT_MAX_SIZE = 4096
# refused from the header, before decoding (Pillow itself refuses 179 MP)
DEFAULT_MAX_PIXELS = 100_000_000
CALIB_IMAGES = 8
LABELS_MAX_PIXELS = 2048 * 2048


@dataclass
class Report:
    """What a run did: ``done`` inputs, ``skipped`` (input, reason)."""

    kind: str
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    peak_bytes: int = 0
    peak_input: str = ''
    fps: float = 0.0
    model_fps: float = 0.0
    frame_times: list = field(default_factory=list)  # model s per frame
    precision: str = 'fp32'
    backend: str = 'pytorch'
    existing: int = 0  # --skip-existing: inputs whose outputs were there
    layouts: dict = field(default_factory=dict)  # the layout tuner's choices

    @property
    def tuning_frames(self):
        """First frames that tuned the layout (0 without a tuner's choice)."""
        return len(SCHEDULE) if self.layouts else 0


def list_images(path, exclude=None):
    """``[(file, relative stem)]`` of an image or a folder (recursive),
    leaving out the folder ``exclude`` (the outputs of an earlier run
    written inside the input folder)."""
    if not osp.isdir(path):
        return [(path, osp.splitext(osp.basename(path))[0])]
    skip = osp.realpath(exclude) if exclude else None
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(
            d for d in dirs if osp.realpath(osp.join(root, d)) != skip
        )
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTS):
                file = osp.join(root, name)
                found.append((file, osp.splitext(osp.relpath(file, path))[0]))
    if not found:
        raise InputImageError(
            f'no images ({", ".join(IMAGE_EXTS)}) in folder {path}'
        )
    seen = {}
    for file, stem in found:
        if stem in seen:
            raise InputImageError(
                f'{seen[stem]} and {file} would write the same outputs '
                f'({stem}.png); rename one of them'
            )
        seen[stem] = file
    return found


def calibration_images(
    path, max_size, count=CALIB_IMAGES, exclude=None, read=read_image
):
    """Up to ``count`` readable images (BGR) of an image, a folder (but
    not its sub-folder ``exclude``) or the first frames of a video, read
    by ``read`` and shrunk as they will be segmented."""
    images = []
    if osp.isfile(path) and path.lower().endswith(VIDEO_EXTS):
        reader = cv2.VideoCapture(path)
        while len(images) < count:
            ok, frame = reader.read()
            if not ok:
                break
            images.append(frame)
        reader.release()
    else:
        for file, _ in list_images(path, exclude):
            try:
                img = read(file)
                check_min_size(img, file)
            except InputImageError:
                continue
            images.append(img)
            if len(images) == count:
                break
    if not images:
        raise InputImageError(f'no readable calibration images in {path}')
    return [fit_max_size(img, max_size) for img in images]


def predict_labels(inferencer, img, max_size):
    """``H x W`` class indices for a BGR image at its own size."""
    h, w = img.shape[:2]
    small = fit_max_size(img, max_size)
    sample = inferencer(small, return_datasamples=True)
    sample = sample[0] if isinstance(sample, list) else sample
    labels = sample.pred_sem_seg.data[0].cpu().numpy()
    del sample  # the logits are the largest array of the run
    labels = labels.astype(np.uint8 if labels.max() < 256 else np.uint16)
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    return labels


def blend(img, labels, palette, alpha):
    """RGB overlay as mmseg's visualiser blends it without class names
    (``image * (1 - alpha) + colour * alpha``, black for labels outside
    the palette), in numpy: the visualiser renders through matplotlib,
    which needs gigabytes and minutes for a 24-megapixel image."""
    lut = np.zeros((max(256, len(palette)), 3), np.uint8)
    lut[: len(palette)] = palette
    colour = lut[labels]
    return (img[:, :, ::-1] * (1 - alpha) + colour * alpha).astype(np.uint8)


def draw_overlay(visualizer, img, labels, name, with_labels=True):
    """RGB overlay of ``labels`` on a BGR image; class names are drawn
    (mmseg's visualiser) on images up to ``LABELS_MAX_PIXELS``."""
    if not with_labels or labels.size > LABELS_MAX_PIXELS:
        meta = visualizer.dataset_meta
        return blend(img, labels, meta['palette'], visualizer.alpha)
    sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.from_numpy(labels[None].astype(int)))
    )
    visualizer.add_datasample(
        name, img[:, :, ::-1], sample, draw_gt=False, with_labels=True
    )
    return visualizer.get_image()


PARTIAL = '.{}.partial'


def _write_png(path, array):
    """Encode, write under a temporary name, rename: a killed run never
    leaves a truncated PNG under the output's name."""
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    ok, data = cv2.imencode('.png', array)
    if not ok:
        raise OSError(f'cannot encode {path}')
    tmp = osp.join(folder, PARTIAL.format(name))
    with open(tmp, 'wb') as f:
        f.write(data.tobytes())
    os.replace(tmp, path)


def _outputs(out_dir, stem):
    return (
        osp.join(out_dir, 'vis', stem + '.png'),
        osp.join(out_dir, 'pred', stem + '_pred.png'),
    )


def _remove_partials(out_dir):
    """Temporary files of a run killed while writing."""
    for sub in ('vis', 'pred'):
        folder = osp.join(out_dir, sub)
        for root, _, files in os.walk(folder):
            for name in files:
                if name.startswith('.') and name.endswith('.partial'):
                    os.remove(osp.join(root, name))


def _prepare_visualizer(inferencer, opacity):
    visualizer = inferencer.visualizer
    visualizer.set_dataset_meta(**inferencer.model.dataset_meta)
    visualizer.alpha = opacity
    return visualizer


def segment_images(
    inferencer,
    path,
    out_dir,
    opacity,
    skip_bad,
    max_size,
    skip_existing=False,
    read=read_image,
):
    """Overlays and label maps for an image or a folder (see module);
    ``read`` reads each image (:func:`read_image` with the pixel limit)."""
    report = Report('images')
    images = list_images(path, exclude=out_dir)
    _remove_partials(out_dir)
    if skip_existing:
        todo = [
            (file, stem)
            for file, stem in images
            if not all(osp.isfile(p) for p in _outputs(out_dir, stem))
        ]
        report.existing = len(images) - len(todo)
        images = todo
    visualizer = _prepare_visualizer(inferencer, opacity)
    progress = ProgressBar(len(images)) if len(images) > 1 else None
    for file, stem in images:
        reset_peak_memory()
        try:
            img = read(file)
            check_min_size(img, file)
        except InputImageError as err:
            if not skip_bad:
                raise
            report.skipped.append((file, str(err)))
        else:
            labels = predict_labels(inferencer, img, max_size)
            overlay = draw_overlay(visualizer, img, labels, stem)
            vis, pred = _outputs(out_dir, stem)
            _write_png(pred, labels)
            _write_png(vis, overlay[..., ::-1])  # last: marks the image done
            report.done.append(file)
            peak = peak_memory_bytes()
            if peak > report.peak_bytes:
                report.peak_bytes, report.peak_input = peak, file
        if progress is not None:
            progress.update()
    return report


def segment_video(inferencer, path, out_dir, opacity, max_size):
    """Write ``<name>_overlay.mp4``; frames per second in the report."""
    reader = cv2.VideoCapture(path)
    if not reader.isOpened():
        raise InputImageError(f'{path}: cannot open video')
    fps = reader.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(reader.get(cv2.CAP_PROP_FRAME_COUNT))
    name = osp.splitext(osp.basename(path))[0]
    out_file = osp.join(out_dir, f'{name}_overlay.mp4')
    os.makedirs(out_dir, exist_ok=True)
    visualizer = _prepare_visualizer(inferencer, opacity)
    report = Report('video')
    writer, model_time = None, 0.0
    progress = ProgressBar(total) if total > 0 else None
    start = time.perf_counter()
    reset_peak_memory()
    try:
        while True:
            ok, frame = reader.read()
            if not ok:
                break
            tick = time.perf_counter()
            labels = predict_labels(inferencer, frame, max_size)
            report.frame_times.append(time.perf_counter() - tick)
            model_time += report.frame_times[-1]
            vis = draw_overlay(visualizer, frame, labels, name, False)
            if writer is None:
                h, w = vis.shape[:2]
                writer = cv2.VideoWriter(
                    out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h)
                )
            writer.write(np.ascontiguousarray(vis[:, :, ::-1]))
            report.done.append(f'{path}#{len(report.done)}')
            if progress is not None:
                progress.update()
    finally:
        reader.release()
        if writer is not None:
            writer.release()
    if not report.done:
        raise InputImageError(f'{path}: no frames could be read')
    frames = len(report.done)
    report.fps = frames / (time.perf_counter() - start)
    report.model_fps = frames / model_time
    report.peak_bytes, report.peak_input = peak_memory_bytes(), path
    return report


def segment(
    path,
    config,
    checkpoint,
    out_dir,
    device='cpu',
    opacity=0.5,
    skip_bad=None,
    max_size=DEFAULT_MAX_SIZE,
    fast=None,
    precision='auto',
    backend='pytorch',
    calib=None,
    skip_existing=False,
    max_pixels=DEFAULT_MAX_PIXELS,
    oversize='refuse',
):
    """Segment ``path``; return a :class:`Report`.

    ``skip_bad`` defaults to on for folders and off for a single image;
    ``calib`` (int8 only) defaults to ``path`` itself.
    """
    if not osp.exists(path):
        raise InputImageError(f'input not found: {path}')
    resolve_precision(precision, device, backend)  # refuse before reading
    read = functools.partial(
        read_image, max_pixels=max_pixels, oversize=oversize
    )
    calibration = None
    if precision == 'int8':
        calibration = calibration_images(
            calib or path, max_size, exclude=out_dir, read=read
        )
    inferencer = SFSegInferencer(
        config,
        weights=checkpoint,
        device=device,
        fast=fast,
        show_progress=False,
        precision=precision,
        backend=backend,
        calibration=calibration,
    )
    if osp.isfile(path) and path.lower().endswith(VIDEO_EXTS):
        report = segment_video(inferencer, path, out_dir, opacity, max_size)
    else:
        if skip_bad is None:
            skip_bad = osp.isdir(path)
        report = segment_images(
            inferencer,
            path,
            out_dir,
            opacity,
            skip_bad,
            max_size,
            skip_existing,
            read,
        )
    report.precision = inferencer.precision
    report.backend = inferencer.backend
    tuner = getattr(inferencer.model, 'layout_tuner', None)
    if tuner is not None:
        report.layouts = {
            shape: (layout, tuner.timings[shape])
            for shape, layout in tuner.choice.items()
        }
    return report


def summary(report, out_dir):
    """The lines printed at the end of a run."""
    gib = report.peak_bytes / 2**30
    if report.kind == 'video':
        lines = [
            f'{len(report.done)} frames segmented to {out_dir}: '
            f'{report.fps:.2f} frames/s with drawing and encoding, '
            f'{report.model_fps:.2f} frames/s model only'
        ]
        tuned = report.frame_times[report.tuning_frames :]
        if report.tuning_frames and tuned:
            lines[0] += (
                f' ({len(tuned) / sum(tuned):.2f} after the first '
                f'{report.tuning_frames}, which tune the layout)'
            )
    else:
        kept = f' ({report.existing} already done)' if report.existing else ''
        lines = [
            f'{len(report.done)} images segmented{kept}, '
            f'{len(report.skipped)} skipped; overlays in '
            f'{osp.join(out_dir, "vis")}, label maps in '
            f'{osp.join(out_dir, "pred")}'
        ]
        lines += [
            'skipped ' + (why if why.startswith(file) else f'{file}: {why}')
            for file, why in report.skipped
        ]
    lines.append(
        f'precision {report.precision} ({cpu_info.describe()}), '
        f'{report.backend} backend'
    )
    for shape, (layout, times) in report.layouts.items():
        lines.append(
            f'layout {layout} chosen for {"x".join(map(str, shape))} inputs '
            f'(channels_last {times["channels_last"]:.2f} s, nchw '
            f'{times["nchw"]:.2f} s per call)'
        )
    if report.peak_input:
        lines.append(
            f'peak memory {gib:.2f} GiB (resident, while segmenting '
            f'{report.peak_input})'
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image, folder of images or video')
    parser.add_argument('config', help='config file, name or sfseg::name')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument(
        '--skip-bad',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='report and skip unreadable or too small images '
        '(default: on for folders, off for a single image)',
    )
    parser.add_argument(
        '--max-size',
        type=int,
        default=DEFAULT_MAX_SIZE,
        help='segment images with a longer side at this size '
        f'(default {DEFAULT_MAX_SIZE}; 0: never shrink)',
    )
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='where the network runs (onnxruntime / openvino: CPU)',
    )
    parser.add_argument(
        '--precision',
        choices=PRECISIONS,
        default='auto',
        help='auto: bf16 only on CPUs with native bf16 (AVX-512 BF16 / '
        'AMX), else fp32; bf16 is refused where it would be emulated; '
        'int8 needs --backend onnxruntime or openvino',
    )
    parser.add_argument(
        '--calib',
        help='image or folder to calibrate int8 on (default: the input)',
    )
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help='refuse images with more pixels, read from the file header '
        f'before decoding (default {DEFAULT_MAX_PIXELS:,}; 0: no limit)',
    )
    parser.add_argument(
        '--oversize',
        choices=OVERSIZE,
        default='refuse',
        help='images over --max-pixels: refuse them, or shrink them to it '
        'while decoding (JPEG: by the decoder, at 1/2, 1/4 or 1/8) and '
        'write their outputs at that size',
    )
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='continue a half-done folder: images whose overlay and label '
        'map exist are not segmented again (outputs are written under a '
        'temporary name and renamed, so existing ones are complete)',
    )
    parser.add_argument(
        '--fast',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='BN folding, NNPACK kernels and the faster memory layout '
        '(default: on CPU)',
    )
    args = parser.parse_args(argv)
    report = segment(
        args.input,
        args.config,
        args.checkpoint,
        args.out_dir,
        device=args.device,
        opacity=args.opacity,
        skip_bad=args.skip_bad,
        max_size=args.max_size,
        fast=args.fast,
        precision=args.precision,
        backend=args.backend,
        calib=args.calib,
        skip_existing=args.skip_existing,
        max_pixels=args.max_pixels,
        oversize=args.oversize,
    )
    print('\n' + '\n'.join(summary(report, args.out_dir)))
    return 1 if report.skipped else 0


if __name__ == '__main__':
    with exit_on_user_error():
        sys.exit(main())
