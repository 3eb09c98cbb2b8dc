"""playground.losses: finite objectives, the saturation lesson in numbers, and the penalties
checked against discriminators whose gradients are known in closed form."""
import math

import pytest
import torch

from playground.config import LOSS_CHOICES
from playground.losses import LOSSES, add_instance_noise, gradient_penalty, r1_penalty


def test_registry_keys_are_the_config_choices():
    assert tuple(LOSSES) == LOSS_CHOICES


@pytest.mark.parametrize("key", LOSS_CHOICES)
@pytest.mark.parametrize("real_target", [1.0, 0.9])
def test_every_loss_gives_finite_scalars(key, real_target):
    loss = LOSSES[key]
    gen = torch.Generator().manual_seed(0)
    for scale in (0.1, 5.0, 50.0):           # from calm logits to a very confident D
        real = (torch.randn(16, generator=gen) * scale).requires_grad_(True)
        fake = (torch.randn(16, generator=gen) * scale).requires_grad_(True)
        d = loss.d_loss(real, fake, real_target)
        g = loss.g_loss(fake)
        assert d.shape == () and g.shape == ()
        assert math.isfinite(d.item()) and math.isfinite(g.item())
        d.backward()
        g.backward()
        assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
        p = loss.prob(fake.detach())
        assert p.shape == (16,) and (p >= 0).all() and (p <= 1).all()


def test_bce_losses_at_chance():
    # D undecided (logit 0, probability 1/2): D loss 2 ln 2, G loss ln 2 (non-saturating).
    zeros = torch.zeros(8)
    assert LOSSES["nonsaturating"].d_loss(zeros, zeros, 1.0).item() == pytest.approx(2 * math.log(2))
    assert LOSSES["nonsaturating"].g_loss(zeros).item() == pytest.approx(math.log(2))
    assert LOSSES["minimax"].g_loss(zeros).item() == pytest.approx(-math.log(2))


def test_label_smoothing_changes_the_bce_target():
    logits = torch.full((4,), 10.0)
    exact = LOSSES["nonsaturating"].d_loss(logits, -logits, 1.0)
    smoothed = LOSSES["nonsaturating"].d_loss(logits, -logits, 0.9)
    assert smoothed > exact + 0.5          # a sure D is now penalised for being too sure


def _g_grad(key, logit):
    fake = torch.tensor([logit], requires_grad=True)
    LOSSES[key].g_loss(fake).backward()
    return fake.grad.abs().item()


def test_minimax_saturates_where_nonsaturating_does_not():
    # D(G(z)) = sigmoid(-10) ~ 4.5e-5: D wins, as it does early in training.
    saturating = _g_grad("minimax", -10.0)
    fixed = _g_grad("nonsaturating", -10.0)
    assert saturating < 1e-4
    assert fixed > 0.99
    assert fixed / saturating > 1e4        # orders of magnitude: the `saturating_loss` lesson
    # Where D is fooled, the roles turn: the minimax gradient is the large one.
    assert _g_grad("minimax", 10.0) > 0.99 and _g_grad("nonsaturating", 10.0) < 1e-4


def test_wasserstein_and_hinge_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    assert LOSSES["wgan"].d_loss(real, fake, 1.0).item() == pytest.approx(-0.75 - 1.0)
    assert LOSSES["wgan"].g_loss(fake).item() == pytest.approx(0.75)
    # hinge: relu(1 - real) -> [0, 1], relu(1 + fake) -> [0, 1.5]
    assert LOSSES["hinge"].d_loss(real, fake, 1.0).item() == pytest.approx(0.5 + 0.75)
    assert LOSSES["lsgan"].d_loss(torch.ones(3), torch.zeros(3), 1.0).item() == 0.0
    assert LOSSES["lsgan"].g_loss(torch.ones(3)).item() == 0.0


def test_loss_flags():
    assert LOSSES["wgan"].clip_weights and not LOSSES["wgan_gp"].clip_weights
    assert LOSSES["wgan_gp"].gradient_penalty and not LOSSES["wgan_gp"].critic_batch_norm
    assert all(LOSSES[k].critic_batch_norm for k in LOSS_CHOICES if k != "wgan_gp")


def _linear_d(weight):
    w = torch.as_tensor(weight, dtype=torch.float32)
    return lambda x: x.flatten(1) @ w


@pytest.mark.parametrize("shape", [(32, 2), (8, 1, 4, 4)])
def test_gradient_penalty_is_zero_for_a_unit_gradient(shape):
    dim = math.prod(shape[1:])
    w = torch.randn(dim, generator=torch.Generator().manual_seed(1))
    d = _linear_d(w / w.norm())                 # ||grad_x D|| = 1 everywhere
    real, fake = torch.randn(shape), torch.randn(shape)
    gp = gradient_penalty(d, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_of_a_steeper_critic():
    d = _linear_d([3.0, 4.0])                   # ||grad|| = 5: penalty (5 - 1)^2
    gp = gradient_penalty(d, torch.randn(16, 2), torch.randn(16, 2))
    assert gp.item() == pytest.approx(16.0, rel=1e-5)


def test_gradient_penalty_is_differentiable_in_the_critic():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    gp = gradient_penalty(lambda x: x @ w, torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()                               # create_graph=True: D learns from the penalty
    assert w.grad is not None and w.grad.norm() > 0


def test_r1_of_a_linear_d_is_the_squared_weight_norm():
    w = torch.tensor([0.5, -2.0, 1.0])
    real = torch.randn(10, 3, requires_grad=True)
    logits = _linear_d(w)(real)
    assert r1_penalty(logits, real).item() == pytest.approx(w.pow(2).sum().item())


def test_instance_noise():
    x = torch.randn(64, 2)
    assert add_instance_noise(x, 0.0) is x
    gen = torch.Generator().manual_seed(0)
    noisy = add_instance_noise(x, 0.5, gen)
    assert noisy.shape == x.shape and not torch.equal(noisy, x)
    big = torch.zeros(20000, 2)
    assert add_instance_noise(big, 0.5, gen).std().item() == pytest.approx(0.5, rel=0.05)
    # Seeded: the same generator state gives the same noise.
    a = add_instance_noise(x, 0.5, torch.Generator().manual_seed(7))
    b = add_instance_noise(x, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
