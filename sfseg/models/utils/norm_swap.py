"""Give chosen norm layers of a built model another norm type.

The official SFNet trains with SyncBN only where its modules pass
``norm_layer`` (research notes 2.1): STDC's ``ConvX`` and DFNet's basic
blocks always build plain BN. mmseg's STDCNet and ResLayer take one
``norm_cfg`` for everything, so the backbones build with it and then swap
those layers; parameter names and shapes do not change.
"""

from mmcv.cnn import build_norm_layer


def swap_norm(owner, name, norm_cfg):
    """Replace ``owner.<name>`` (a norm layer) by ``norm_cfg`` of the same
    width, keeping its parameters and statistics."""
    old = getattr(owner, name)
    new = build_norm_layer(norm_cfg, old.num_features)[1]
    new.load_state_dict(old.state_dict())
    setattr(owner, name, new)
