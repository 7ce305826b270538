"""Official SFSegNets files as ``load_from`` and ``mim test`` weights.

sfseg's checkpoint loader reads an official file in memory (see
:mod:`sfseg.models.official.official_files`), and mmengine's Runner loads
``load_from`` non-strictly (fine-tuning may change the classifier). This
hook sees the file before the Runner loads it into the model: a file of
another official family is refused naming both families and the config
to use, the deep-supervision branches of a ``*_dsn`` file are left out
for the same model without them, and an official ImageNet backbone file
is explained instead of loaded into nothing.
"""

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from sfseg.utils import CheckpointMismatchError
from sfseg.utils.checkpoint_formats import fit_checkpoint


@HOOKS.register_module()
class SFOfficialWeightsHook(Hook):
    """Check an official file against the Runner's model before it loads."""

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        meta = checkpoint.get('meta') or {}
        source = meta.get('sfseg_source') or runner.cfg.get('load_from')
        try:
            fitted = fit_checkpoint(checkpoint, model.state_dict(), source)
        except CheckpointMismatchError as err:
            raise CheckpointMismatchError(
                f'{source} does not fit the model: {err}'
            ) from None
        if fitted is not checkpoint:
            # the Runner keeps its own reference: change it in place
            checkpoint.clear()
            checkpoint.update(fitted)
