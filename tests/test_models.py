"""playground.models: DCGAN stacks derived from the image size, MLPs for points and images,
spectral norm, and the BatchNorm-free WGAN-GP critic. Tiny widths throughout."""
import pytest
import torch
from torch import nn

from playground.config import TrainConfig
from playground.models import (DCGANDiscriminator, MLPDiscriminator, build_models,
                               dcgan_layout)
from playground.trainer import Trainer


def seeded(seed=0):
    torch.manual_seed(seed)


@pytest.mark.parametrize("size, layout", [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_dcgan_layout_multiplies_back_to_the_size(size, layout):
    base, doublings = dcgan_layout(size)
    assert (base, doublings) == layout
    assert base * 2 ** doublings == size and 3 <= base <= 7 and doublings >= 1


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_and_range(size, channels):
    seeded()
    generator, discriminator = build_models("dcgan", (channels, size, size), z_dim=4, width=4, depth=1)
    z = torch.randn(3, 4)
    x = generator(z)
    assert x.shape == (3, channels, size, size)
    assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    logits = discriminator(x)
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    # The critic accepts real-looking data of the same shape, too.
    assert discriminator(torch.rand(2, channels, size, size) * 2 - 1).shape == (2,)


@pytest.mark.parametrize("size", [2, 3, 7, 9, 15, 50, 100])
def test_unbuildable_image_size_raises(size):
    # 50 = 25 * 2 and 100 = 25 * 4: the base 25 is outside 3..7, the documented layout rule.
    with pytest.raises(ValueError, match="image_size"):
        dcgan_layout(size)
    with pytest.raises(ValueError):
        build_models("dcgan", (1, size, size), z_dim=4, width=4, depth=1)


def test_dcgan_needs_square_images_and_a_known_arch():
    with pytest.raises(ValueError, match="square"):
        build_models("dcgan", (1, 16, 8), z_dim=4, width=4, depth=1)
    with pytest.raises(ValueError, match="square"):
        build_models("dcgan", (2,), z_dim=4, width=4, depth=1)
    with pytest.raises(ValueError, match="arch"):
        build_models("resnet", (2,), z_dim=4, width=4, depth=1)


def test_mlp_for_points_is_unbounded_linear_output():
    seeded()
    generator, discriminator = build_models("mlp", (2,), z_dim=4, width=8, depth=2)
    x = generator(torch.randn(5, 4) * 100)
    assert x.shape == (5, 2)
    assert x.abs().max() > 1                    # points are not squashed into [-1, 1]
    assert not any(isinstance(m, nn.Tanh) for m in generator.modules())
    assert discriminator(x).shape == (5,)
    hidden = [m for m in discriminator.modules() if isinstance(m, nn.Linear)]
    assert len(hidden) == 3 and hidden[0].out_features == 8      # depth 2 hidden + output


def test_mlp_for_images_keeps_shape_and_range():
    seeded()
    generator, discriminator = build_models("mlp", (3, 8, 8), z_dim=4, width=8, depth=1)
    x = generator(torch.randn(5, 4) * 100)
    assert x.shape == (5, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert discriminator(x).shape == (5,)


def _linear_and_conv(module):
    return [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


@pytest.mark.parametrize("arch, shape", [("mlp", (2,)), ("dcgan", (1, 16, 16))])
def test_spectral_norm_wraps_every_discriminator_layer(arch, shape):
    seeded()
    _, plain = build_models(arch, shape, z_dim=4, width=4, depth=1)
    _, normed = build_models(arch, shape, z_dim=4, width=4, depth=1, spectral_norm=True)
    assert not any(hasattr(m, "parametrizations") for m in _linear_and_conv(plain))
    layers = _linear_and_conv(normed)
    assert layers and all(hasattr(m, "parametrizations") and "weight" in m.parametrizations
                          for m in layers)
    out = normed(torch.randn(3, *shape))
    assert out.shape == (3,) and torch.isfinite(out).all()


def test_spectral_norm_bounds_the_largest_singular_value():
    seeded()
    discriminator = MLPDiscriminator((2,), width=16, depth=2, spectral=True)
    with torch.no_grad():
        for layer in _linear_and_conv(discriminator):
            layer.parametrizations.weight.original.mul_(50.0)   # a large raw weight
        for _ in range(30):                                       # power iterations run per forward
            discriminator(torch.randn(8, 2))
        discriminator.eval()
        for layer in _linear_and_conv(discriminator):
            sigma = torch.linalg.matrix_norm(layer.weight, ord=2)
            assert sigma == pytest.approx(1.0, abs=0.05)


def test_dcgan_critic_can_drop_batch_norm():
    with_bn = DCGANDiscriminator(1, 32, width=4, spectral=False, batch_norm=True)
    without = DCGANDiscriminator(1, 32, width=4, spectral=False, batch_norm=False)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())


def _tiny(**changes):
    base = dict(dataset="digits", arch="dcgan", image_size=16, batch_size=4, width=4, z_dim=4,
                depth=1, device="cpu")
    return TrainConfig(**{**base, **changes})


def test_wgan_gp_critic_has_no_batch_norm():
    trainer = Trainer(_tiny(loss="wgan_gp"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trainer.discriminator.modules())
    # The generator keeps its BatchNorm: the penalty only concerns the critic.
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainer.generator.modules())


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan", "hinge"])
def test_other_losses_keep_dcgan_batch_norm(loss):
    trainer = Trainer(_tiny(loss=loss))
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainer.discriminator.modules())


def test_same_seed_same_weights():
    a = Trainer(_tiny(seed=3))
    b = Trainer(_tiny(seed=3))
    c = Trainer(_tiny(seed=4))
    for pa, pb in zip(a.generator.parameters(), b.generator.parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.generator.parameters(), c.generator.parameters()))
