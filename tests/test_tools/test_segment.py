import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from common import REPO
from tool_loader import load_tool

from sfseg.apis import InputImageError
from sfseg.apis.segment_files import segment, summary
from sfseg.apis.segment_inputs import calibration_images
from sfseg.apis.semantic_outputs import blend
from sfseg.utils import CheckpointMismatchError

main = load_tool('tools/segment.py').main

CFG = osp.join(
    REPO, 'configs', 'toy', 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'
)


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """A checkpoint of the toy model (random weights, mmseg format)."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CFG).model)
    path = str(tmp_path_factory.mktemp('w') / 'toy.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def toy_images(toy_city):
    return sorted(
        osp.join(r, f)
        for r, _, fs in os.walk(osp.join(toy_city, 'leftImg8bit'))
        for f in fs
    )


@pytest.fixture
def mixed_folder(toy_city, tmp_path):
    """3 good images (one in a sub-folder, one JPEG) and 1 truncated."""
    src = toy_images(toy_city)
    folder = tmp_path / 'in'
    (folder / 'sub').mkdir(parents=True)
    shutil.copy(src[0], folder / 'a.png')
    shutil.copy(src[1], folder / 'sub' / 'b.png')
    cv2.imwrite(str(folder / 'c.jpg'), cv2.imread(src[2]))
    data = (folder / 'a.png').read_bytes()
    (folder / 'broken.png').write_bytes(data[: len(data) // 3])
    return folder


def test_folder_skips_bad_and_names_outputs(
    mixed_folder, weights, tmp_path, capsys
):
    out = tmp_path / 'out'
    code = main([str(mixed_folder), CFG, weights, '--out-dir', str(out)])
    assert code == 1  # something was skipped
    for stem in ('a', 'sub/b', 'c'):
        ext = '.jpg' if stem == 'c' else '.png'
        img = cv2.imread(str(mixed_folder / (stem + ext)))
        overlay = cv2.imread(str(out / 'vis' / (stem + '.png')))
        labels = cv2.imread(
            str(out / 'pred' / (stem + '_pred.png')), cv2.IMREAD_UNCHANGED
        )
        assert overlay.shape == img.shape
        assert labels.shape == img.shape[:2] and labels.dtype == np.uint8
        assert labels.max() < 19
    assert sorted(os.listdir(out / 'vis')) == ['a.png', 'c.png', 'sub']
    assert not (out / 'vis' / 'broken.png').exists()
    printed = capsys.readouterr().out
    assert '3 images segmented, 1 skipped' in printed
    assert f'skipped {mixed_folder / "broken.png"}: unreadable' in printed
    assert 'peak memory' in printed


def test_outputs_inside_the_input_folder_are_not_inputs(
    mixed_folder, weights, capsys
):
    out = mixed_folder / 'out'
    for _ in range(2):  # the second run must not segment the first's
        main([str(mixed_folder), CFG, weights, '--out-dir', str(out)])
        assert '3 images segmented, 1 skipped' in capsys.readouterr().out
    assert sorted(os.listdir(out / 'vis')) == ['a.png', 'c.png', 'sub']


def test_calibration_leaves_the_output_folder_out(mixed_folder):
    (mixed_folder / 'out' / 'vis').mkdir(parents=True)
    shutil.copy(mixed_folder / 'a.png', mixed_folder / 'out' / 'vis')
    found = calibration_images(str(mixed_folder), 0, count=10)
    assert len(found) == 4  # a, sub/b, c and the copy; broken.png skipped
    kept = calibration_images(
        str(mixed_folder), 0, count=10, exclude=str(mixed_folder / 'out')
    )
    assert len(kept) == 3


def agreement_with_the_model(image, weights, out_dir):
    """Fraction of the label map written to ``out_dir`` for ``image``
    that the uncompiled, unaccelerated model predicts too."""
    from mmseg.apis import inference_model

    from sfseg.apis import init_model

    stem = osp.splitext(osp.basename(image))[0]
    labels = cv2.imread(
        str(out_dir / 'pred' / f'{stem}_pred.png'), cv2.IMREAD_UNCHANGED
    )
    model = init_model(CFG, weights, fast=False)
    want = inference_model(model, image).pred_sem_seg.data[0].numpy()
    return (labels == want).mean()


def test_labels_match_the_model(toy_city, weights, tmp_path):
    image = toy_images(toy_city)[0]
    segment(image, CFG, weights, str(tmp_path))
    assert agreement_with_the_model(image, weights, tmp_path) > 0.999


def test_compiled_labels_match_the_model(toy_city, weights, tmp_path):
    from sfseg.apis import init_model

    image = toy_images(toy_city)[0]
    assert (
        main([image, CFG, weights, '--out-dir', str(tmp_path), '--compile'])
        == 0
    )
    assert agreement_with_the_model(image, weights, tmp_path) > 0.999
    with pytest.raises(ValueError, match='compiles the fast path'):
        init_model(CFG, weights, fast=False, compile=True)


def test_compile_refused_off_the_pytorch_network(toy_city, weights, tmp_path):
    from sfseg.utils import SFSegUserError

    image = toy_images(toy_city)[0]
    with pytest.raises(SFSegUserError, match="backend 'onnxruntime'"):
        segment(image, CFG, weights, str(tmp_path), compile=True,
                backend='onnxruntime')  # fmt: skip


def test_single_bad_image_stops(mixed_folder, weights, tmp_path):
    with pytest.raises(InputImageError, match='broken.png: unreadable'):
        segment(str(mixed_folder / 'broken.png'), CFG, weights, str(tmp_path))
    # --skip-bad on a single image: reported, nothing written
    report = segment(
        str(mixed_folder / 'broken.png'),
        CFG,
        weights,
        str(tmp_path / 's'),
        skip_bad=True,
    )
    assert report.done == [] and len(report.skipped) == 1


@pytest.mark.parametrize('size', [(1, 1), (20, 300)])
def test_tiny_image_refused(size, weights, tmp_path):
    path = str(tmp_path / 'tiny.png')
    cv2.imwrite(path, np.full((*size, 3), 128, np.uint8))
    h, w = size
    with pytest.raises(
        InputImageError, match=f'tiny.png: image is {w}x{h} pixels.*32x32'
    ):
        segment(path, CFG, weights, str(tmp_path / 'o'))


def test_cli_errors_are_one_line(tmp_path, weights, mixed_folder):
    import subprocess

    cfg5 = tmp_path / 'cfg5.py'
    cfg5.write_text(
        f'_base_ = {CFG!r}\nmodel = dict(decode_head=dict(num_classes=5))\n'
    )
    cmd = [sys.executable, osp.join(REPO, 'tools', 'segment.py')]
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        cmd
        + [str(mixed_folder / 'a.png'), str(cfg5), weights]
        + ['--out-dir', str(tmp_path / 'o')],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'Traceback' not in proc.stderr
    assert 'num_classes 5 in the config, 19 in the checkpoint' in last
    assert not (tmp_path / 'o').exists()
    with pytest.raises(CheckpointMismatchError):
        segment(str(mixed_folder / 'a.png'), str(cfg5), weights, str(tmp_path))


def test_huge_image_peak_memory(weights, tmp_path, capsys):
    rng = np.random.RandomState(0)
    img = np.zeros((4000, 6000, 3), np.uint8)
    img[:2000] = (180, 130, 70)
    img[2000:] = (128, 64, 128)
    img += rng.randint(0, 20, img.shape, dtype=np.uint8)
    path = str(tmp_path / 'huge.jpg')
    cv2.imwrite(path, img)
    code = main([path, CFG, weights, '--out-dir', str(tmp_path / 'o')])
    assert code == 0
    labels = cv2.imread(
        str(tmp_path / 'o' / 'pred' / 'huge_pred.png'), cv2.IMREAD_UNCHANGED
    )
    assert labels.shape == (4000, 6000)
    printed = capsys.readouterr().out
    line = next(s for s in printed.splitlines() if 'peak memory' in s)
    gib = float(line.split()[2])
    print(line)  # reported in the closing note
    assert 0.1 < gib < 8


def test_blend_equals_mmseg_visualizer(weights):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (48, 80, 3), dtype=np.uint8)
    labels = rng.randint(0, 19, (48, 80)).astype(np.uint8)
    labels[:4, :4] = 255  # ignore: black in mmseg's blend
    vis = SegLocalVisualizer(name='blend_test', alpha=0.6)
    vis.set_dataset_meta(dataset_name='cityscapes')
    sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.from_numpy(labels[None]).long())
    )
    vis.add_datasample(
        'x', img[:, :, ::-1], sample, draw_gt=False, with_labels=False
    )
    want = vis.get_image()
    got = blend(img, labels, vis.dataset_meta['palette'], 0.6)
    assert np.array_equal(got, want)


@pytest.mark.parametrize('native_bf16', [False, True], indirect=True)
def test_video_fps(toy_city, weights, tmp_path, native_bf16):
    """``--precision auto`` takes bf16 where the CPU has it natively (the
    ISA is mocked both ways): six frames walk the layout tuner through
    both layouts in either precision."""
    frames = toy_images(toy_city)[:6]
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(
        video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (128, 64)
    )
    for f in frames:
        writer.write(cv2.imread(f))
    writer.release()
    report = segment(video, CFG, weights, str(tmp_path / 'v'))
    assert report.precision == ('bf16' if native_bf16 else 'fp32')
    assert report.kind == 'video' and len(report.done) == 6
    assert report.fps > 0 and report.model_fps >= report.fps
    lines = summary(report, 'v')
    assert 'frames/s' in lines[0]
    assert len(report.frame_times) == 6 and report.tuning_frames == 5
    steady = 1 / report.frame_times[5]
    assert f'({steady:.2f} after the first 5, which tune' in lines[0]
    # six frames of one size: the layout tuner has decided and says so
    ((shape, (layout, times)),) = report.layouts.items()
    assert layout == min(times, key=times.get)
    assert any(
        line.startswith(f'layout {layout} chosen for 1x3x') for line in lines
    )
    reader = cv2.VideoCapture(str(tmp_path / 'v' / 'clip_overlay.mp4'))
    read = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        read.append(frame)
    assert len(read) == 6 and read[0].shape == (64, 128, 3)
    assert np.std(read[0]) > 5


def test_missing_and_empty_inputs(tmp_path, weights):
    with pytest.raises(InputImageError, match='input not found: .*nope'):
        main([str(tmp_path / 'nope.png'), CFG, weights, '--out-dir', 'x'])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(InputImageError, match='no images .* in folder'):
        segment(str(empty), CFG, weights, str(tmp_path / 'o'))
    clash = tmp_path / 'clash'
    clash.mkdir()
    cv2.imwrite(str(clash / 'x.png'), np.zeros((64, 64, 3), np.uint8))
    cv2.imwrite(str(clash / 'x.jpg'), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(InputImageError, match='same outputs'):
        segment(str(clash), CFG, weights, str(tmp_path / 'o'))


@pytest.mark.parametrize('native_bf16', [True], indirect=True)
def test_bf16_labels_agree_with_fp32(toy_city, weights, tmp_path):
    """``--precision bf16`` over a folder (each image one call, so the
    layout tuner runs too) labels like fp32; emulated where bf16 is not
    native, so the toy images are small."""
    folder = osp.join(toy_city, 'leftImg8bit', 'train')
    for precision in ('fp32', 'bf16'):
        out = str(tmp_path / precision)
        args = [folder, CFG, weights, '--out-dir', out]
        assert main(args + ['--precision', precision]) == 0
    names = sorted(
        osp.relpath(osp.join(r, f), tmp_path / 'fp32' / 'pred')
        for r, _, fs in os.walk(tmp_path / 'fp32' / 'pred')
        for f in fs
    )
    assert len(names) == 8
    same = total = 0
    for name in names:
        a, b = (
            cv2.imread(str(tmp_path / p / 'pred' / name), cv2.IMREAD_UNCHANGED)
            for p in ('fp32', 'bf16')
        )
        same += int((a == b).sum())
        total += a.size
    assert same / total > 0.99


def test_killed_run_continues_with_skip_existing(toy_city, weights, tmp_path):
    """SIGKILL half-way through a 20-image folder, rerun with
    --skip-existing: every output decodes, one pair per input, no
    temporary file left, the images done before are not redone."""
    import signal
    import subprocess
    import time

    folder = tmp_path / 'in'
    folder.mkdir()
    src = toy_images(toy_city)
    for i in range(20):
        shutil.copy(src[i % len(src)], folder / f'{i:02d}.png')
    out = tmp_path / 'out'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'segment.py'), str(folder)]
    cmd += [CFG, weights, '--out-dir', str(out), '--max-size', '0']
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        done = list((out / 'vis').glob('*.png')) if out.exists() else []
        if len(done) >= 6:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in (out / 'vis').iterdir()
              if not p.name.startswith('.')}  # fmt: skip
    assert 6 <= len(before) < 20
    code = main(
        [str(folder), CFG, weights, '--out-dir', str(out)]
        + ['--max-size', '0', '--skip-existing']
    )
    assert code == 0
    vis = sorted((out / 'vis').iterdir())
    pred = sorted((out / 'pred').iterdir())
    assert [p.name for p in vis] == [f'{i:02d}.png' for i in range(20)]
    assert len(pred) == 20
    for path in vis + pred:
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None, path
    for name, mtime in before.items():  # not segmented again
        assert (out / 'vis' / name).stat().st_mtime_ns == mtime


def test_pixel_limit_refuses_from_the_header(weights, tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / 'big.png'
    Image.new('RGB', (5000, 2000), (90, 60, 30)).save(path)  # 10 MP
    decoded = []
    load = Image.Image.load
    monkeypatch.setattr(
        Image.Image, 'load', lambda self: decoded.append(1) or load(self)
    )
    with pytest.raises(InputImageError) as err:
        segment(str(path), CFG, weights, str(tmp_path / 'o'),
                max_pixels=5_000_000)  # fmt: skip
    msg = str(err.value)
    assert f'{path}: 5000x2000 is 10.0 megapixels' in msg
    assert 'over the limit of 5.0 (--max-pixels' in msg
    assert not decoded  # refused from the header
    assert not (tmp_path / 'o' / 'vis').exists()


def test_oversize_shrink_decodes_a_jpeg_smaller(
    weights, tmp_path, monkeypatch
):
    from PIL import Image

    path = tmp_path / 'big.jpg'
    gradient = np.linspace(0, 255, 5000, dtype=np.uint8)
    img = np.stack([np.tile(gradient, (2000, 1))] * 3, axis=-1)
    Image.fromarray(img).save(path, quality=90)  # 10 MP
    loaded = []
    load = Image.Image.load
    monkeypatch.setattr(
        Image.Image,
        'load',
        lambda self: loaded.append(self.size) or load(self),
    )
    out = tmp_path / 'o'
    code = main(
        [str(path), CFG, weights, '--out-dir', str(out), '--max-size', '0']
        + ['--max-pixels', '2000000', '--oversize', 'shrink']
    )
    assert code == 0
    # DCT-scaled to 1/2 (2.5 MP, the smallest scale keeping 2 MP), then
    # area-filtered to 2 MP; the 10 MP image is never decoded
    assert (5000, 2000) not in loaded and (2500, 1000) in loaded
    pred = cv2.imread(str(out / 'pred' / 'big_pred.png'), -1)
    assert pred.shape == (894, 2236)


class FakeOutputs:
    """A per-image "predict and write" object without a model: the loop
    of :func:`segment_images` needs nothing task-specific."""

    subdirs = ('masks',)
    written = (('masks', 'masks'),)

    def __init__(self, out_dir):
        self.out_dir = str(out_dir)
        self.predicted, self.finished = [], False

    def paths(self, stem):
        return (osp.join(self.out_dir, 'masks', stem + '.png'),)

    def predict(self, img):
        self.predicted.append(img.shape)
        return img[..., 0] > 100

    def write(self, img, mask, stem):
        from sfseg.apis.segment_outputs import write_png

        write_png(self.paths(stem)[0], mask.astype(np.uint8) * 255)

    def finish(self):
        self.finished = True


def test_loop_takes_any_outputs_object(mixed_folder, tmp_path):
    from sfseg.apis.segment_files import segment_images
    from sfseg.apis.segment_outputs import partial_name

    out = tmp_path / 'out'
    outputs = FakeOutputs(out)
    # a killed run's temporary file is removed, a user's file kept
    (out / 'masks' / 'sub').mkdir(parents=True)
    left = partial_name(str(out / 'masks' / 'sub' / 'b.png'))
    open(left, 'wb').close()
    (out / 'masks' / 'notes.txt').write_text('kept')
    report = segment_images(outputs, str(mixed_folder), skip_bad=True)
    assert not osp.exists(left) and (out / 'masks' / 'notes.txt').exists()
    assert outputs.finished and len(outputs.predicted) == 3
    assert sorted(osp.basename(f) for f in report.done) == [
        'a.png',
        'b.png',
        'c.jpg',
    ]
    ((bad, why),) = report.skipped
    assert bad.endswith('broken.png') and 'unreadable' in why
    mask = cv2.imread(str(out / 'masks' / 'sub' / 'b.png'), -1)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    lines = summary(report, str(out))
    assert lines[0] == (
        f'3 images segmented, 1 skipped; masks in {out / "masks"}'
    )
    assert lines[1] == f'skipped {why}'  # the reason names the file
    # --skip-existing: only the image without outputs is read again
    os.remove(out / 'masks' / 'c.png')
    again = FakeOutputs(out)
    report = segment_images(
        again, str(mixed_folder), skip_bad=True, skip_existing=True
    )
    assert report.existing == 2 and len(again.predicted) == 1
    assert [osp.basename(f) for f in report.done] == ['c.jpg']
    assert summary(report, str(out))[0].startswith(
        '1 images segmented (2 already done), 1 skipped; masks in'
    )
    with pytest.raises(InputImageError, match='broken.png: unreadable'):
        segment_images(FakeOutputs(out), str(mixed_folder), skip_bad=False)


def test_write_png_never_leaves_a_truncated_output(tmp_path, monkeypatch):
    from sfseg.apis import segment_outputs
    from sfseg.apis.segment_outputs import (
        partial_name,
        pending,
        remove_partials,
        write_png,
    )

    labels = np.arange(64 * 40, dtype=np.uint16).reshape(40, 64)
    path = str(tmp_path / 'o' / 'pred' / 'x' / 'a_pred.png')
    write_png(path, labels)  # folders made; uint16 kept
    assert np.array_equal(cv2.imread(path, cv2.IMREAD_UNCHANGED), labels)
    assert os.listdir(osp.dirname(path)) == ['a_pred.png']

    def killed(src, dst):
        raise RuntimeError('killed')  # between the write and the rename

    monkeypatch.setattr(segment_outputs.os, 'replace', killed)
    other = str(tmp_path / 'o' / 'pred' / 'b_pred.png')
    with pytest.raises(RuntimeError, match='killed'):
        write_png(other, labels)
    monkeypatch.undo()
    assert not osp.exists(other) and osp.exists(partial_name(other))
    images = [('a.png', 'x/a'), ('b.png', 'b')]

    def paths(stem):
        return (str(tmp_path / 'o' / 'pred' / f'{stem}_pred.png'),)

    assert pending(images, paths) == [('b.png', 'b')]
    remove_partials(str(tmp_path / 'o'), ('pred',))
    assert not osp.exists(partial_name(other)) and osp.exists(path)
    monkeypatch.setattr(
        segment_outputs.cv2, 'imencode', lambda ext, a: (False, None)
    )
    with pytest.raises(OSError, match='cannot encode .*c.png'):
        write_png(str(tmp_path / 'c.png'), labels)
    assert not osp.exists(tmp_path / 'c.png')


def test_inputs_images_and_videos(tmp_path):
    from sfseg.apis.segment_inputs import is_video, list_images

    img = tmp_path / 'one.Frame.PNG'
    cv2.imwrite(str(img), np.zeros((40, 40, 3), np.uint8))
    assert list_images(str(img)) == [(str(img), 'one.Frame')]
    video = tmp_path / 'clip.MP4'
    video.write_bytes(b'')
    assert is_video(str(video)) and not is_video(str(img))
    assert not is_video(str(tmp_path / 'missing.mp4'))
    assert not is_video(str(tmp_path))
