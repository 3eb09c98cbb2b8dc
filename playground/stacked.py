"""Stacked networks: K same-shape MLPs as (K, ...) tensors, their optimizers and losses.

The engine of ensemble.py, kept apart so each file reads on its own. Stacked, the K members'
weights become (K, out, in) tensors and every layer is one batched matmul (torch.baddbmm) for
all of them; the optimizers repeat torch.optim's single-tensor maths with per-member rates, and
the losses are losses.LOSSES with one value per member. Nothing here knows about configs,
datasets or RNG streams: ensemble.py builds the members (exactly as Trainer builds one) and
feeds them batches.

    g = StackedMLP(generators, device, "g", data_shape)    # modules from models.build_models
    fakes = g(z)                                            # (K, N, z_dim) -> (K, N, *data_shape)
    opt = StackedOptimizer("adam", g.parameters(), lr=[1e-3, 2e-3], beta1=[.5, .5], beta2=[.999] * 2)
    opt.step(grads)                                         # one update of every member
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SN_EPS = 1e-12                # torch's spectral_norm eps
ADAM_EPS = 1e-8               # torch.optim.Adam / RMSprop defaults
RMSPROP_ALPHA = 0.99


def per_member(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """(K,) numbers as a float tensor shaped (K, 1, ...) to broadcast against `like`."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *[1] * (like.dim() - 1))


# --- per-member losses: losses.LOSSES on (K, B) logits, one value per member -------------------
# Each objective of losses.py is a sum of batch means, so "mean over dim 1" is the per-member
# version; tests/test_ensemble.py checks every entry against LOSSES member by member.
def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target.expand_as(logits), reduction="none").mean(1)


MEMBER_D_LOSS = {   # (real (K, B), fake (K, B), real_target (K, 1)) -> (K,)
    "minimax": lambda r, f, t: _bce(r, t) + _bce(f, torch.zeros_like(t)),
    "nonsaturating": lambda r, f, t: _bce(r, t) + _bce(f, torch.zeros_like(t)),
    "lsgan": lambda r, f, t: 0.5 * ((r - t) ** 2).mean(1) + 0.5 * (f ** 2).mean(1),
    "wgan": lambda r, f, t: f.mean(1) - r.mean(1),
    "wgan_gp": lambda r, f, t: f.mean(1) - r.mean(1),
    "hinge": lambda r, f, t: F.relu(1.0 - r).mean(1) + F.relu(1.0 + f).mean(1),
}
MEMBER_G_LOSS = {   # fake (K, B) -> (K,)
    "minimax": lambda f: -F.softplus(f).mean(1),
    "nonsaturating": lambda f: F.softplus(-f).mean(1),
    "lsgan": lambda f: 0.5 * ((f - 1.0) ** 2).mean(1),
    "wgan": lambda f: -f.mean(1),
    "wgan_gp": lambda f: -f.mean(1),
    "hinge": lambda f: -f.mean(1),
}


# --- K MLPs as stacked tensors ---------------------------------------------------------------
class StackedMLP:
    """K MLPGenerator / MLPDiscriminator modules of one shape as (K, ...) tensors.

    `params` and `buffers` are keyed by the modules' own state_dict names, so slice k of each is
    member k's state_dict. Spectral norm repeats torch's parametrization: one power iteration
    per forward on the stored u, v, then weight / (u . W v).
    """

    def __init__(self, modules: Sequence[nn.Module], device: torch.device, kind: str, out_shape=()):
        template = modules[0]
        self.kind, self.out_shape = kind, tuple(out_shape)       # kind: "g" or "d"
        self.params = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in modules])
                       .to(device).requires_grad_(True) for name, _ in template.named_parameters()}
        self.buffers = {name: torch.stack([dict(m.named_buffers())[name] for m in modules]).to(device)
                        for name, _ in template.named_buffers()}
        self.layers = []                                          # (weight name, bias name, spectral)
        for index, layer in enumerate(template.net):
            if isinstance(layer, nn.Linear):
                spectral = hasattr(layer, "parametrizations")
                weight = f"net.{index}.parametrizations.weight.original" if spectral else f"net.{index}.weight"
                self.layers.append((weight, f"net.{index}.bias", spectral))
        self.tanh = isinstance(template.net[-1], nn.Tanh)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def _spectral(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        prefix = name.rsplit(".original", 1)[0] + ".0."
        u, v = self.buffers[prefix + "_u"], self.buffers[prefix + "_v"]      # (K, out), (K, in)
        with torch.no_grad():
            u.copy_(F.normalize(torch.bmm(weight, v.unsqueeze(2)).squeeze(2), dim=1, eps=SN_EPS))
            v.copy_(F.normalize(torch.bmm(weight.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=SN_EPS))
        # Clones, as torch's: the next forward updates u, v in place, and backward needs these.
        u, v = u.clone(), v.clone()
        sigma = (u * torch.bmm(weight, v.unsqueeze(2)).squeeze(2)).sum(1)       # (K,)
        return weight / sigma.view(-1, 1, 1)

    def __call__(self, x: torch.Tensor, member: int | None = None) -> torch.Tensor:
        """(K, N, *in_shape) -> G: (K, N, *out_shape), D: (K, N) logits.

        With `member` (G only: D's power iteration updates every member): (N, *in) -> (N, *out).
        """
        pick = (lambda t: t) if member is None else (lambda t: t[member:member + 1])
        h = (x if member is None else x.unsqueeze(0)).flatten(2)                 # (K, N, in)
        last = len(self.layers) - 1
        for index, (weight_name, bias_name, spectral) in enumerate(self.layers):
            weight = pick(self.params[weight_name])                             # (K, out, in)
            if spectral:
                weight = self._spectral(weight_name, weight)
            h = torch.baddbmm(pick(self.params[bias_name]).unsqueeze(1), h, weight.transpose(1, 2))
            if index < last:
                h = F.relu(h) if self.kind == "g" else F.leaky_relu(h, 0.2)
        if self.kind == "d":
            h = h.squeeze(2)                                                    # (K, N)
        else:
            h = (torch.tanh(h) if self.tanh else h).view(*h.shape[:2], *self.out_shape)
        return h if member is None else h[0]

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's state_dict (the names of the module it was stacked from)."""
        return {name: t[k].detach().clone() for name, t in {**self.params, **self.buffers}.items()}

    def all_tensors(self) -> list[torch.Tensor]:
        return [*self.params.values(), *self.buffers.values()]


class StackedOptimizer:
    """torch.optim's single-tensor Adam / RMSprop / SGD maths on stacked (K, ...) parameters.

    Rates and betas are per member; the order of floating-point operations follows torch's
    kernels (lerp for Adam's first moment, (value * a) / b for addcdiv), so member k tracks a
    lone torch.optim optimizer to rounding (~1e-7 relative after 5 steps in the tests).
    """

    def __init__(self, kind: str, params: list[torch.Tensor], lr, beta1, beta2):
        self.kind, self.params = kind, params
        self.lr, self.beta1, self.beta2 = list(lr), list(beta1), list(beta2)
        self.steps = 0
        slots = {"adam": 2, "rmsprop": 1, "sgd": 0}[kind]
        self.state = [[torch.zeros_like(p) for _ in range(slots)] for p in params]
        self._set_values()

    def _set_values(self) -> None:
        """The per-member numbers of the update, from lr / beta1 / beta2 (columns made anew)."""
        self._values = {"neg_lr": [-v for v in self.lr], "1-b1": [1 - b for b in self.beta1],
                        "b2": list(self.beta2), "1-b2": [1 - b for b in self.beta2]}
        self._columns: dict[tuple[str, int], torch.Tensor] = {}

    def set_member(self, k: int, lr: float, beta1: float, beta2: float) -> None:
        """New rate and betas for member k from the next step on (a live edit; the moments are
        kept, as torch.optim keeps them when a param group's lr or betas change)."""
        self.lr[k], self.beta1[k], self.beta2[k] = lr, beta1, beta2
        self._set_values()

    def _column(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """self._values[name] as a (K, 1, ...) tensor shaped for `like`, made once per rank."""
        key = (name, like.dim())
        if key not in self._columns:
            self._columns[key] = per_member(self._values[name], like)
        return self._columns[key]

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        self.steps += 1
        n = self.steps
        # Adam's bias corrections in Python floats, as torch computes them, one per member.
        self._values["step"] = [-lr / (1 - b1 ** n) for lr, b1 in zip(self.lr, self.beta1)]
        self._values["bc2"] = [(1 - b2 ** n) ** 0.5 for b2 in self.beta2]
        self._columns = {k: v for k, v in self._columns.items() if k[0] not in ("step", "bc2")}
        with torch.no_grad():
            for param, grad, state in zip(self.params, grads, self.state):
                if self.kind == "adam":
                    exp_avg, exp_avg_sq = state
                    exp_avg.lerp_(grad, self._column("1-b1", param))
                    exp_avg_sq.mul_(self._column("b2", param)).add_(grad.mul(self._column("1-b2", param)).mul_(grad))
                    denom = (exp_avg_sq.sqrt() / self._column("bc2", param)).add_(ADAM_EPS)
                    param.add_(exp_avg.mul(self._column("step", param)).div_(denom))
                elif self.kind == "rmsprop":
                    square_avg = state[0]
                    square_avg.mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
                    avg = square_avg.sqrt().add_(ADAM_EPS)
                    param.add_(grad.mul(self._column("neg_lr", param)).div_(avg))
                else:
                    param.add_(grad.mul(self._column("neg_lr", param)))

    def member_state(self, k: int) -> list[dict]:
        """torch.optim state for member k, one dict per parameter (load into a Trainer's optimizer)."""
        names = {"adam": ("exp_avg", "exp_avg_sq"), "rmsprop": ("square_avg",), "sgd": ()}[self.kind]
        if self.kind == "sgd":
            return [{} for _ in self.params]
        return [{"step": torch.tensor(float(self.steps)),
                 **{name: slot[k].detach().clone() for name, slot in zip(names, state)}}
                for state in self.state]


def grad_norms(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """(K,) L2 norm over all of a member's gradients (torch.nn.utils.get_total_norm per member)."""
    return torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)

