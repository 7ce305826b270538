"""EncoderDecoder that checks head inputs against the backbone at build."""

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS


@MODELS.register_module()
class SFEncoderDecoder(EncoderDecoder):
    """mmseg ``EncoderDecoder`` plus a build-time input check.

    A head whose ``in_channels`` / ``in_index`` disagree with the backbone
    otherwise fails deep inside the first forward with a bare conv shape
    error. Here the backbone (and neck) run once, in eval mode without
    gradients, on a small probe image right after construction, and every
    decode / auxiliary head's selection is compared with its declaration.

    Args:
        probe_size (tuple[int, int]): probe image size; a multiple of the
            largest backbone stride.
        **kwargs: ``EncoderDecoder`` arguments.
    """

    def __init__(self, probe_size=(64, 64), **kwargs):
        super().__init__(**kwargs)
        self.check_head_inputs(probe_size)

    def parse_losses(self, losses):
        """mmengine's, plus the loss terms kept in the message hub so that
        ``SFOptimWrapper``'s non-finite guard can name them."""
        from mmengine.logging import MessageHub

        loss, log_vars = super().parse_losses(losses)
        # tensors, read only when the guard reports (no device sync here)
        terms = {k: v.detach() for k, v in log_vars.items() if 'loss' in k}
        MessageHub.get_current_instance().update_info(
            'sfseg_loss_terms', terms
        )
        return loss, log_vars

    @torch.no_grad()
    def check_head_inputs(self, probe_size=(64, 64)):
        """Raise ValueError naming the head and the mismatch, if any."""
        in_channels = self._probe_in_channels()
        was_training = self.training
        self.eval()
        try:
            probe = torch.zeros(1, in_channels, *probe_size)
            feats = self.extract_feat(probe)
        finally:
            self.train(was_training)
        heads = [('decode_head', self.decode_head)]
        if self.with_auxiliary_head:
            aux = self.auxiliary_head
            aux = aux if isinstance(aux, torch.nn.ModuleList) else [aux]
            heads += [(f'auxiliary_head[{i}]', h) for i, h in enumerate(aux)]
        for name, head in heads:
            _check_one(name, head, feats)

    def _probe_in_channels(self):
        for module in self.backbone.modules():
            if isinstance(module, torch.nn.Conv2d):
                return module.in_channels
        return 3


def _check_one(name, head, feats):
    kind = type(head).__name__
    indices = head.in_index
    channels = head.in_channels
    if not isinstance(indices, (list, tuple)):
        indices, channels = [indices], [channels]
    for index in indices:
        if not -len(feats) <= index < len(feats):
            raise ValueError(
                f'{name} ({kind}): in_index {index} is out of range; the '
                f'backbone returns {len(feats)} feature levels'
            )
    got = [feats[i].shape[1] for i in indices]
    if head.input_transform == 'resize_concat':
        got, channels = [sum(got)], [sum(channels)]
    if len(got) != len(channels):
        raise ValueError(
            f'{name} ({kind}): in_channels={list(channels)} '
            f'and in_index={list(indices)} differ in length'
        )
    for index, want, have in zip(indices, channels, got):
        if have != want:
            raise ValueError(
                f'{name} ({kind}): in_channels expects {want} channels at '
                f'in_index {index}, but the backbone gives {have} '
                f'(backbone channels: {[f.shape[1] for f in feats]})'
            )
