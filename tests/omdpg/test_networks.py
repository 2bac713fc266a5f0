"""Shared network helpers of omdpg/networks.py on cases with a known answer."""

import torch

from omdpg.networks import soft_update


def test_soft_update_is_polyak_averaging_of_every_parameter():
    torch.manual_seed(0)
    source = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    target = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    before = [p.clone() for p in target.parameters()]
    soft_update(target, source, 0.25)
    for t, s, b in zip(target.parameters(), source.parameters(), before, strict=True):
        assert torch.allclose(t, 0.75 * b + 0.25 * s)
