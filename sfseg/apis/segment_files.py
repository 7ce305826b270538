"""Segment an image, a folder of images or a video into output files:
the library behind ``tools/segment.py`` (see its help for the outputs).

:func:`segment` chooses the task from the config's model
(:func:`model_task`: an mmseg segmentor is semantic, an mmdet detector
with a panoptic head such as K-Net panoptic), builds the model and runs
:func:`segment_images` (the per-image loop: bad inputs reported and
skipped or raised, ``--skip-existing``, peak memory) or
:func:`segment_video`, each with a per-image "predict and write" object
(:class:`SemanticOutputs`, or :class:`PanopticOutputs` of
:mod:`sfseg.det.apis`, which registers itself in
:mod:`sfseg.apis.segment_tasks`); :func:`summary` gives the lines
printed at the end of a run.
"""

import functools
import os
import os.path as osp
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.utils import ProgressBar

from sfseg.acceleration.layout_tuner import SCHEDULE
from sfseg.acceleration.memory import peak_memory_bytes, reset_peak_memory
from sfseg.deploy.backends import resolve_precision
from sfseg.utils import (
    ConfigNotFoundError,
    SFSegUserError,
    cpu_info,
    resolve_config,
)

from .inference import SFSegInferencer
from .input_images import InputImageError, check_min_size, read_image
from .segment_inputs import calibration_images, is_video, list_images
from .segment_outputs import pending, remove_partials
from .segment_tasks import task_builder
from .semantic_outputs import SemanticOutputs

DEFAULT_MAX_SIZE = 4096
# refused from the header, before decoding (Pillow itself refuses 179 MP)
DEFAULT_MAX_PIXELS = 100_000_000
TASKS = ('auto', 'semantic', 'panoptic')
# what each task's path needs of the config's model
NEEDS = {
    'semantic': 'an mmseg segmentor (model.decode_head)',
    'panoptic': 'an mmdet panoptic detector (model.panoptic_fusion_head, '
    'e.g. KNet)',
}


class TaskMismatchError(SFSegUserError, ValueError):
    """The config's model is not of the task asked for (``--task``)."""


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
    written: tuple = ()  # (what, folder under the output folder)
    notes: list = field(default_factory=list)  # lines for the summary

    @property
    def tuning_frames(self):
        """First frames that tuned the layout (0 without a tuner's choice)."""
        return len(SCHEDULE) if self.layouts else 0


def segment_images(
    outputs, path, skip_bad, skip_existing=False, read=read_image
):
    """Run ``outputs`` (see :class:`SemanticOutputs`) on an image or a
    folder; ``read`` reads each image (:func:`read_image` with the pixel
    limit). A broken or too small image is raised, or with ``skip_bad``
    reported in the :class:`Report` and skipped."""
    report = Report('images', written=outputs.written)
    images = list_images(path, exclude=outputs.out_dir)
    remove_partials(outputs.out_dir, outputs.subdirs)
    if skip_existing:
        todo = pending(images, outputs.paths)
        report.existing = len(images) - len(todo)
        images = todo
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
            outputs.write(img, outputs.predict(img), stem)
            report.done.append(file)
            peak = peak_memory_bytes()
            if peak > report.peak_bytes:
                report.peak_bytes, report.peak_input = peak, file
        if progress is not None:
            progress.update()
    outputs.finish()
    return report


def segment_video(outputs, path):
    """Write ``<name>_overlay.mp4`` of ``outputs``' overlays (without
    class names) into its output folder; frames per second in the
    report."""
    reader = cv2.VideoCapture(path)
    if not reader.isOpened():
        raise InputImageError(f'{path}: cannot open video')
    fps = reader.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(reader.get(cv2.CAP_PROP_FRAME_COUNT))
    name = osp.splitext(osp.basename(path))[0]
    out_file = osp.join(outputs.out_dir, f'{name}_overlay.mp4')
    os.makedirs(outputs.out_dir, exist_ok=True)
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
            prediction = outputs.predict(frame)
            report.frame_times.append(time.perf_counter() - tick)
            model_time += report.frame_times[-1]
            vis = outputs.overlay(frame, prediction, name, with_labels=False)
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


def model_task(config):
    """``(task, model type)`` of a config (a file, an sfseg config name or
    a ``Config``): ``'semantic'`` for an mmseg segmentor (it has a
    ``decode_head``), ``'panoptic'`` for an mmdet detector with a
    ``panoptic_fusion_head`` (K-Net...), else ``None``. A name that is
    no file is left to mmseg's model names: semantic."""
    if not isinstance(config, Config):
        try:
            path = resolve_config(config)
        except ConfigNotFoundError:
            if str(config).endswith('.py') or '::' in str(config):
                raise
            return 'semantic', str(config)
        # the keys only: nothing of the config's custom_imports is needed
        config = Config.fromfile(path, import_custom_modules=False)
    model = config.get('model') or {}
    kind = None
    if 'panoptic_fusion_head' in model:
        kind = 'panoptic'
    elif 'decode_head' in model:
        kind = 'semantic'
    return kind, model.get('type', 'none')


def check_task(config, task='auto'):
    """The task of ``config``'s model, refused (:class:`TaskMismatchError`
    naming the model type) if it is not ``task`` or of no task here."""
    if task not in TASKS:
        raise SFSegUserError(f'task must be one of {TASKS}, got {task!r}')
    kind, model_type = model_task(config)
    name = getattr(config, 'filename', None) or config
    if kind is None:
        raise TaskMismatchError(
            f'{name}: model type {model_type} is neither '
            f'{NEEDS["semantic"]} nor {NEEDS["panoptic"]}'
        )
    if task not in ('auto', kind):
        raise TaskMismatchError(
            f'{name}: model type {model_type} is a {kind} model; '
            f'--task {task} needs {NEEDS[task]}'
        )
    return kind


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
    compile=False,
    skip_existing=False,
    max_pixels=DEFAULT_MAX_PIXELS,
    oversize='refuse',
    task='auto',
):
    """Segment ``path`` (an image, a folder or a video) into ``out_dir``;
    return a :class:`Report`. The options are ``tools/segment.py``'s.

    ``skip_bad`` defaults to on for folders and off for a single image;
    ``calib`` (int8 only) defaults to ``path`` itself; ``task`` (``auto``,
    ``semantic``, ``panoptic``) is the config's (:func:`check_task`).
    """
    if not osp.exists(path):
        raise InputImageError(f'input not found: {path}')
    read = functools.partial(
        read_image, max_pixels=max_pixels, oversize=oversize
    )
    inferencer = None
    task = check_task(config, task)
    if compile and (task == 'panoptic' or backend != 'pytorch'):
        raise SFSegUserError(
            '--compile compiles the PyTorch network of a semantic model; '
            f'not with task {task!r} and backend {backend!r}'
        )
    if task == 'panoptic':
        outputs = task_builder('panoptic', config)(
            config,
            checkpoint,
            out_dir,
            device,
            opacity,
            max_size,
            fast=fast,
            precision=precision,
            backend=backend,
        )
    else:
        resolve_precision(precision, device, backend)  # refuse before reading
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
            compile=compile,
            show_progress=False,
            precision=precision,
            backend=backend,
            calibration=calibration,
        )
        outputs = SemanticOutputs(inferencer, out_dir, opacity, max_size)
    if is_video(path):
        report = segment_video(outputs, path)
    else:
        if skip_bad is None:
            skip_bad = osp.isdir(path)
        report = segment_images(outputs, path, skip_bad, skip_existing, read)
        if inferencer is None:
            report.backend = backend
            report.notes.append(
                f'category ids of {osp.join(out_dir, "panoptic.json")}: '
                f'from {outputs.category_source}'
            )
    if inferencer is not None:
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
    """The lines printed at the end of a run into ``out_dir``."""
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
            f'{len(report.skipped)} skipped'
        ]
        if report.written:
            lines[0] += '; ' + ', '.join(
                f'{what} in {osp.join(out_dir, sub)}'
                for what, sub in report.written
            )
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
    lines += report.notes
    if report.peak_input:
        lines.append(
            f'peak memory {gib:.2f} GiB (resident, while segmenting '
            f'{report.peak_input})'
        )
    return lines
