"""One method's training step on its own, for speed comparisons (benchmarks/): network, Adam, a batch, a step.

    from avgzsl.methods.bench import training_step
    step, batch = training_step("avca", input_dim=1024, text_dim=1024, visual_dim=512, dataset="ucf")
    loss = step(batch)          # forward (the method's losses), backward, Adam step; returns the summed loss

The network, optimiser and loss sum are the ones :func:`avgzsl.clipclap.train.train_stage` uses.
"""
from __future__ import annotations

from typing import Callable

import torch

from avgzsl.clipclap.train import TrainConfig, make_optimizer
from avgzsl.methods.base import Batch, total
from avgzsl.methods.registry import get_method


def random_batch(batch_size: int, input_dim: int, text_dim: int, classes: int = 30,
                 generator: torch.Generator | None = None, device: str = "cpu") -> Batch:
    """A batch of random rows of ``classes`` classes with a negative of another class for each row."""
    g = generator or torch.Generator().manual_seed(0)
    target = torch.randint(classes, (batch_size,), generator=g)
    return Batch(x=torch.randn(batch_size, input_dim, generator=g).to(device), target=target.to(device),
                 class_text=torch.randn(classes, text_dim, generator=g).to(device),
                 x_neg=torch.randn(batch_size, input_dim, generator=g).to(device),
                 target_neg=((target + 1) % classes).to(device))


def training_step(name: str, input_dim: int, text_dim: int, visual_dim: int, dataset: str = "ucf",
                  device: str = "cpu", classes: int = 30) -> tuple[Callable[[Batch], float], Batch]:
    """(one training step of the method's network on a batch, a random batch of the method's preset size)."""
    method = get_method(name)
    preset = method.preset(dataset)
    model = method.build(method.make_config(input_dim, text_dim, visual_dim, dataset)).to(device).train()
    cfg = TrainConfig(lr=preset.lr, epochs=1, weight_decay=preset.weight_decay, device=device)
    opt = make_optimizer(model, cfg, torch.device(device))

    def step(batch: Batch) -> float:
        loss = total(method.losses(model, batch))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, random_batch(preset.batch_size, input_dim, text_dim, classes, device=device)
