"""A snapshot of everything a call could disturb on a model, and a check that nothing did."""

from __future__ import annotations

import copy

import torch
from torch import nn


def _hook_counts(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {
        name: (
            len(module._forward_hooks),
            len(module._forward_pre_hooks),
            len(module._backward_hooks),
            len(module._backward_pre_hooks),
            len(module._state_dict_hooks),
            len(module._load_state_dict_pre_hooks),
        )
        for name, module in model.named_modules()
    }


def _global_hook_counts() -> tuple[int, ...]:
    hooks = nn.modules.module
    return (
        len(hooks._global_forward_hooks),
        len(hooks._global_forward_pre_hooks),
        len(hooks._global_backward_hooks),
        len(hooks._global_backward_pre_hooks),
        torch._C._len_torch_function_stack(),
    )


def snapshot(model: nn.Module) -> dict[str, object]:
    """Everything a call could disturb: modes, flags, .grad, parameters, buffers, hooks, device."""
    return {
        "modes": {name: m.training for name, m in model.named_modules()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "grads": {
            n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()
        },
        "parameters": {n: p.detach().clone() for n, p in model.named_parameters()},
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "devices": {n: p.device for n, p in model.named_parameters()},
        "hooks": _hook_counts(model),
        "global": _global_hook_counts(),
    }


def assert_same_state(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("modes", "requires_grad", "devices", "hooks", "global"):
        assert before[key] == after[key], key
    for key in ("grads", "parameters", "buffers"):
        assert before[key].keys() == after[key].keys()
        for name, value in before[key].items():
            other = after[key][name]
            if value is None:
                assert other is None, f"{key}[{name}] appeared"
            else:
                assert other is not None and torch.equal(value, other), f"{key}[{name}] changed"


def as_mid_training(model: nn.Module) -> nn.Module:
    """A copy in the state a training loop leaves it: train mode, some frozen parameters, some
    .grad set by a backward step, one submodule kept in eval."""
    model = copy.deepcopy(model).train()
    parameters = list(model.parameters())
    parameters[0].requires_grad_(False)
    model(torch.randn(2, 3, 64, 64)).logsumexp(1).sum().backward()
    parameters[-1].grad = None
    next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d)).eval()
    return model
