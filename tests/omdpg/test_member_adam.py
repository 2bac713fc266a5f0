"""MemberAdam is K independent Adams: all members together match torch's Adam, and a member that
is not stepped does not move at all (torch's Adam would move it by its momentum)."""

import torch

from omdpg.member_adam import MemberAdam


def _loss(w):
    return (w**2).sum() + w.sum()


def test_stepping_every_member_matches_torch_adam():
    torch.manual_seed(0)
    w1 = torch.nn.Parameter(torch.randn(3, 4, 2))
    w2 = torch.nn.Parameter(w1.detach().clone())
    ours, ref = MemberAdam([w1], lr=1e-2, eps=1e-5), torch.optim.Adam([w2], lr=1e-2, eps=1e-5)
    for _ in range(5):
        for w, opt, step in ((w1, ours, lambda: ours.step([0, 1, 2])), (w2, ref, ref.step)):
            opt.zero_grad()
            _loss(w).backward()
            step()
    torch.testing.assert_close(w1, w2)


def test_a_member_not_stepped_stays_exactly_where_it_was():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(2, 3))
    opt = MemberAdam([w], lr=1e-2)
    for members in ([0, 1], [1], [1]):
        before = w.detach().clone()
        opt.zero_grad()
        _loss(w).backward()
        opt.step(members)
        assert (w[members] != before[members]).all()
    assert torch.equal(w[0], before[0])  # momentum from the first step did not leak
    assert opt.state[w]["step"].tolist() == [1.0, 3.0]
