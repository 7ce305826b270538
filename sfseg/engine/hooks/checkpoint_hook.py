"""CheckpointHook whose checkpoints survive a kill at any moment.

mmengine 0.10.7's ``CheckpointHook`` already writes ``last_checkpoint``
after the checkpoint, but it writes ``iter_N.pth`` in place (a kill
leaves a truncated file under the final name), rewrites
``last_checkpoint`` in place (a kill can leave it empty), and with
``max_keep_ckpts`` deletes the oldest checkpoint *before* writing the new
one (with ``max_keep_ckpts=1`` a kill then leaves nothing to resume from).

``SFCheckpointHook`` writes the checkpoint under a hidden temporary name,
syncs it, renames it into place, then replaces ``last_checkpoint`` the same
way, and only then deletes checkpoints beyond ``max_keep_ckpts``. Remote
backends keep mmengine's behaviour.
"""

import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

from sfseg.utils.user_errors import SFSegUserError

PARTIAL = '.{}.partial'


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(tmp, path):
    """Sync ``tmp`` and rename it to ``path`` (atomic on one file system)."""
    with open(tmp, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(osp.abspath(path)))


def write_text_atomic(path, text):
    tmp = osp.join(osp.dirname(path), PARTIAL.format(osp.basename(path)))
    with open(tmp, 'w') as f:
        f.write(text)
    replace_file(tmp, path)


class CheckpointSaveError(SFSegUserError, OSError):
    """A checkpoint could not be written (disk full, permissions)."""


@HOOKS.register_module()
class SFCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with crash-safe writes; same arguments."""

    def _local(self):
        return isinstance(self.file_backend, LocalBackend)

    def before_train(self, runner):
        super().before_train(runner)
        if self._local() and is_main_process():
            # leftovers of a run killed while saving
            pattern = osp.join(self.out_dir, PARTIAL.format('*'))
            for path in glob.glob(pattern):
                os.remove(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step
        ):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(
                'keep_ckpt_ids', list(self.keep_ckpt_ids)
            )
        name = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = PARTIAL.format(name)
        try:
            runner.save_checkpoint(
                self.out_dir,
                partial,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
            if not is_main_process():
                return
            replace_file(osp.join(self.out_dir, partial), self.last_ckpt)
        except (OSError, RuntimeError) as err:  # disk full, permissions
            self._failed(runner, partial, err)
        # relative to the work dir, so a moved work dir still resumes
        pointed = self.last_ckpt
        if osp.dirname(osp.abspath(pointed)) == osp.abspath(runner.work_dir):
            pointed = osp.basename(pointed)
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), pointed
        )
        if outdated is not None:
            old = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(old):
                os.remove(old)

    def _failed(self, runner, partial, err):
        """A save that failed leaves no partial file and ``last_checkpoint``
        on the previous, complete one; training stops naming the file."""
        tmp = osp.join(self.out_dir, partial)
        if osp.exists(tmp):
            os.remove(tmp)
        code = getattr(err, 'errno', None)
        reason = f'{os.strerror(code)} (errno {code})' if code else str(err)
        previous = osp.join(runner.work_dir, 'last_checkpoint')
        raise CheckpointSaveError(
            f'cannot write checkpoint {self.last_ckpt}: {reason}; '
            f'{previous} still names the last complete checkpoint, so '
            '--resume continues from it once there is room'
        ) from err
