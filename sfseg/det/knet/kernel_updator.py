"""K-Net's adaptive kernel update (gated fusion of kernels and features)."""

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.registry import MODELS


@MODELS.register_module()
class KernelUpdator(nn.Module):
    """Adaptive feature assembling and kernel update of K-Net (paper eq. 3-6).

    For every kernel, the features gathered under its mask ``F`` and the
    kernel itself ``K`` produce two gates, then the new kernel is
    ``gate_F * norm(phi(F)) + gate_K * norm(psi(K))`` followed by a
    linear-norm-act. ``F`` has one vector per kernel; ``K`` may carry S
    spatial taps (S = kernel_size**2), which share the gates of ``F``.

    Parameter names follow K-Net's ``KernelUpdator`` so official weights
    load (``kernel_update_conv.*`` inside each update head).

    Args:
        in_channels (int): Channels of the features and kernels.
        feat_channels (int, optional): Width of the gating space; must equal
            ``in_channels`` (the default).
        out_channels (int, optional): Channels of the updated kernels.
            Defaults to ``in_channels``.
        input_feat_shape (int | tuple): Accepted for compatibility with
            K-Net configs; the computation does not depend on it.
        gate_sigmoid (bool): Squash the gates with a sigmoid.
        gate_norm_act (bool): Norm + act on the gate features first.
        activate_out (bool): Activate the two candidate kernels.
        act_cfg (dict): Activation config.
        norm_cfg (dict): Norm config (LN in K-Net).

    Shape:
        - update_feature: (B, K, C) or (B*K, C), the gathered features
        - input_feature: (B, K, S, C), the current kernels
        - output: (B*K, S, out_channels)
    """

    def __init__(
        self,
        in_channels=256,
        feat_channels=None,
        out_channels=None,
        input_feat_shape=3,
        gate_sigmoid=True,
        gate_norm_act=False,
        activate_out=False,
        act_cfg=dict(type='ReLU', inplace=True),
        norm_cfg=dict(type='LN'),
    ):
        super().__init__()
        feat_channels = feat_channels or in_channels
        if feat_channels != in_channels:
            # The gates act on the gating features through in_channels-wide
            # linears, so both widths must agree (as in K-Net).
            raise ValueError(
                f'KernelUpdator needs feat_channels == in_channels, got '
                f'{feat_channels} and {in_channels}'
            )
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.out_channels = out_channels or in_channels
        self.gate_sigmoid = gate_sigmoid
        self.gate_norm_act = gate_norm_act
        self.activate_out = activate_out

        # One linear each for the features and the kernels; their outputs
        # split into an "in" half (gating) and an "out" half (candidates).
        self.dynamic_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.input_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.input_gate = nn.Linear(in_channels, feat_channels)
        self.update_gate = nn.Linear(in_channels, feat_channels)
        if gate_norm_act:
            self.gate_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.norm_in = build_norm_layer(norm_cfg, feat_channels)[1]
        self.norm_out = build_norm_layer(norm_cfg, feat_channels)[1]
        self.input_norm_in = build_norm_layer(norm_cfg, feat_channels)[1]
        self.input_norm_out = build_norm_layer(norm_cfg, feat_channels)[1]
        self.activation = build_activation_layer(act_cfg)
        self.fc_layer = nn.Linear(feat_channels, self.out_channels)
        self.fc_norm = build_norm_layer(norm_cfg, self.out_channels)[1]

    def forward(self, update_feature, input_feature):
        update_feature = update_feature.reshape(-1, self.in_channels)
        num_kernels = update_feature.shape[0]
        params = self.dynamic_layer(update_feature)
        param_in = params[:, : self.feat_channels]
        param_out = params[:, self.feat_channels :]

        kernels = input_feature.reshape(num_kernels, -1, self.in_channels)
        kernel_params = self.input_layer(kernels)
        input_in = kernel_params[..., : self.feat_channels]
        input_out = kernel_params[..., self.feat_channels :]

        gate_feats = input_in * param_in.unsqueeze(-2)
        if self.gate_norm_act:
            gate_feats = self.activation(self.gate_norm(gate_feats))
        input_gate = self.input_norm_in(self.input_gate(gate_feats))
        update_gate = self.norm_in(self.update_gate(gate_feats))
        if self.gate_sigmoid:
            input_gate = input_gate.sigmoid()
            update_gate = update_gate.sigmoid()
        param_out = self.norm_out(param_out)
        input_out = self.input_norm_out(input_out)
        if self.activate_out:
            param_out = self.activation(param_out)
            input_out = self.activation(input_out)

        feats = update_gate * param_out.unsqueeze(-2) + input_gate * input_out
        return self.activation(self.fc_norm(self.fc_layer(feats)))
