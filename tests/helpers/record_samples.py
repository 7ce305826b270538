"""A hook for the distributed class-uniform test: every rank appends the
image paths of each training batch to ``samples_rank<r>.jsonl`` in the
work dir (imported through the config's ``custom_imports``)."""

import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RecordSamplesHook(Hook):
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        paths = [s.img_path for s in data_batch['data_samples']]
        name = f'samples_rank{get_rank()}.jsonl'
        with open(osp.join(runner.work_dir, name), 'a') as f:
            f.write(json.dumps([runner.iter, paths]) + '\n')
