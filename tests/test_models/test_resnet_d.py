import torch
from mmseg.models.backbones import ResNetV1c

from sfseg.models.backbones import SFResNetD


def test_resnet18_d_layout_and_shapes():
    model = SFResNetD(depth=18)
    model.eval()
    # Official deep stem 3 -> 64 -> 64 -> 128, so layer1 downsamples 128->64.
    assert model.stem[6].out_channels == 128
    assert model.layer1[0].downsample[0].weight.shape == (64, 128, 1, 1)
    for name, dilation in (
        ('layer1', 1),
        ('layer2', 1),
        ('layer3', 2),
        ('layer4', 4),
    ):
        for block in getattr(model, name):
            assert block.conv1.dilation == (1, 1)
            assert block.conv2.dilation == (dilation, dilation)
            assert block.conv2.padding == (dilation, dilation)
            assert block.conv2.stride == (1, 1)
    assert model.layer4[0].conv1.stride == (2, 2)  # output stride 32
    # Official ResNet-18-D parameter count (brief 4.1).
    assert sum(p.numel() for p in model.parameters()) == 11324992
    outs = model(torch.randn(1, 3, 64, 128))
    assert [tuple(o.shape) for o in outs] == [
        (1, 64, 16, 32),
        (1, 128, 8, 16),
        (1, 256, 4, 8),
        (1, 512, 2, 4),
    ]


def test_resnet18_d_differs_from_mmseg_dilated_basicblock():
    # Same keys and shapes as mmseg's ResNetV1c, different dilated conv.
    torch.manual_seed(0)
    ours = SFResNetD(depth=18).eval()
    stock = ResNetV1c(
        depth=18,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
    )
    stock.eval()
    stock.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b = ours(x), stock(x)
    assert torch.allclose(a[1], b[1], atol=1e-5)  # undilated stages agree
    assert (a[3] - b[3]).abs().max() > 1e-3


def test_resnet50_d_equals_configured_resnet_v1c():
    ours = SFResNetD(depth=50)
    stock = ResNetV1c(
        depth=50,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
    )
    assert type(ours.layer3[0]) is type(stock.layer3[0])
    assert ours.layer3[0].conv2.dilation == (2, 2)
    assert ours.layer4[1].conv2.dilation == (4, 4)
    assert sum(p.numel() for p in ours.parameters()) == 23631808
