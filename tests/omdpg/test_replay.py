"""The replay buffer against a plain list of transitions: n-step rewards, bootstrap weights, the
observation a truncated episode ended on, memory per transition and checkpoints; its torch gather
against the numpy sampler it replaced, and across the devices its tensors can live on."""

import io

import numpy as np
import pytest
import torch

from omdpg.envs.base import EnvSpec
from omdpg.learner import Transition
from omdpg.replay import ReplayBuffer, unpack_bits

B, N_AGENTS, N_ACTIONS = 3, 2, 11
GAMMA = 0.9
# The learner's device where one is at hand, else the CPU (then the option's plumbing is tested).
LEARNER = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def spec(episode_limit: int) -> EnvSpec:
    return EnvSpec(
        env="smax",
        map="t",
        n_agents=N_AGENTS,
        obs_dims=(4, 4),
        state_dim=5,
        discrete=True,
        n_actions=N_ACTIONS,
        action_dims=(1, 1),
        episode_limit=episode_limit,
    )


def stream(steps: int, seed: int = 0):
    """Transitions whose obs[..., 0] = row, obs[..., 1] = env tag every step; final observations
    (where an episode ended) are tagged -1 - row. Random ends, truncations frequent."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(steps):

        def tagged(row):
            o = rng.random((B, N_AGENTS, 4)).astype(np.float32)
            o[..., 0], o[..., 1] = row, np.arange(B)[:, None]
            return o

        obs, final = tagged(t), tagged(-1 - t)
        term = rng.random(B) < 0.15
        trunc = ~term & (rng.random(B) < 0.25)
        avail = rng.random((B, N_AGENTS, N_ACTIONS)) < 0.5
        out.append(
            Transition(
                obs=obs,
                state=obs[:, 0, :].repeat(2, -1)[:, :5],
                avail=avail,
                actions=rng.integers(0, N_ACTIONS, (B, N_AGENTS)),
                reward=rng.normal(size=B).astype(np.float32),
                terminated=term,
                truncated=trunc,
                next_obs=final,
                next_state=final[:, 0].repeat(2, -1)[:, :5],
                next_avail=rng.random((B, N_AGENTS, N_ACTIONS)) < 0.5,
            )
        )
    for t in range(steps - 1):  # where no episode ended, the next observation is the next row's
        live = ~(out[t].terminated | out[t].truncated)
        out[t].next_obs[live] = out[t + 1].obs[live]
        out[t].next_avail[live] = out[t + 1].avail[live]
    return out


def assert_same_samples(a: ReplayBuffer, b: ReplayBuffer) -> None:
    """The same mini-batch from both buffers under the same numpy seed."""
    samples = []
    for buf in (a, b):
        np.random.seed(1)
        samples.append(buf.sample(64, 2, GAMMA, torch.device("cpu")))
    for x, y in zip(*samples):
        assert torch.equal(x, y)


def expected(data, row, env, n_step):
    """n-step reward sum, discount and bootstrap observation of (row, env), from the list."""
    reward, discount = 0.0, 1.0
    for k in range(n_step):
        tr = data[row + k]
        reward += discount * tr.reward[env]
        discount *= GAMMA
        if tr.terminated[env]:
            return reward, 0.0, None
        if tr.truncated[env]:
            return reward, discount, (tr.next_obs[env], tr.next_avail[env])
    nxt = data[row + n_step]
    return reward, discount, (nxt.obs[env], nxt.avail[env])


@pytest.mark.parametrize(
    "n_step, capacity, episode_limit",
    [
        (1, 3 * 40, 100),
        (3, 3 * 40, 100),
        (20, 3 * 40, 100),
        (2, 3 * 25, 1000),  # the buffer wraps, and the side store must grow: truncation is far more
    ],
)  # frequent than a 1000-step limit promises
def test_samples_match_the_transitions(n_step, capacity, episode_limit):
    data = stream(60)
    buf = ReplayBuffer(spec(episode_limit), B, capacity)
    for tr in data:
        buf.add(tr)
    if episode_limit == 1000:
        assert len(buf.final_row) > 2 * B  # grown beyond its initial B * 2 slots
    assert_samples_match(buf, data, n_step, oldest=len(data) - capacity // B)


def assert_samples_match(buf: ReplayBuffer, data: list, n_step: int, oldest: int) -> None:
    """500 samples of ``buf`` equal the n-step returns computed from the list ``data``."""
    np.random.seed(0)
    s = buf.sample(500, n_step, GAMMA, torch.device("cpu"))
    for k in range(500):
        row, env = int(s.obs[k, 0, 0]), int(s.obs[k, 0, 1])
        assert oldest <= row < len(data) - n_step
        tr = data[row]
        assert torch.equal(s.avail[k], torch.as_tensor(tr.avail[env]))
        assert s.actions[k].tolist() == tr.actions[env].tolist()
        reward, discount, nxt = expected(data, row, env, n_step)
        assert s.reward[k].item() == pytest.approx(reward, abs=1e-5)
        assert s.discount[k].item() == pytest.approx(discount, abs=1e-6)
        if nxt is not None:  # terminated: bootstrap weight 0, next observation unused
            assert torch.equal(s.next_obs[k], torch.as_tensor(nxt[0]))
            assert torch.equal(s.next_avail[k], torch.as_tensor(nxt[1]))


@pytest.mark.parametrize("n_step", [1, 3, 20])
def test_a_cut_ends_the_episodes_in_flight_where_they_stood(n_step):
    """A resume that drops its episodes: the buffer holds what the list holds when the last row
    before the cut is a truncation at the observations the episodes stood at, and new episodes
    follow it. No return runs across the cut, and none bootstraps from a new episode's start."""
    data, cut = stream(60), 30
    stood = stream(cut + 1, seed=1)[cut]  # where the dropped episodes stood: other observations
    buf = ReplayBuffer(spec(100), B, 3 * 60)
    for tr in data[:cut]:
        buf.add(tr)
    buf.cut(stood.obs, stood.state, stood.avail)
    for tr in data[cut:]:
        buf.add(tr)
    last = data[cut - 1]
    live = ~(last.terminated | last.truncated)
    assert live.any()
    last.truncated = last.truncated | live
    last.next_obs[live], last.next_avail[live] = stood.obs[live], stood.avail[live]
    assert_samples_match(buf, data, n_step, oldest=0)


def test_memory_per_transition():
    """Observations and states are stored once (not again as next_*), masks as bits: about half
    of a naive float32 buffer with next_obs; float16 halves the observations again."""
    naive = 2 * (N_AGENTS * 4 + 5) * 4 + 2 * N_AGENTS * N_ACTIONS + N_AGENTS * 8 + 4 + 2
    f32 = ReplayBuffer(spec(100), B, 3000).bytes_per_transition
    f16 = ReplayBuffer(spec(100), B, 3000, dtype="float16").bytes_per_transition
    assert f32 < 0.6 * naive and f16 < 0.75 * f32


def test_checkpoint_round_trip_samples_identically():
    data = stream(30)
    buf = ReplayBuffer(spec(100), B, 3 * 50)
    for tr in data:
        buf.add(tr)
    saved = buf.state_dict()
    assert len(saved["data"]["obs"]) == 30  # only the filled rows are saved
    restored = ReplayBuffer(spec(100), B, 3 * 50)
    restored.load_state_dict(saved)
    assert_same_samples(buf, restored)


def numpy_sample(buf: ReplayBuffer, batch_size: int, n_step: int):
    """The numpy sampler the torch gather replaced (commit 3586d4d), over the buffer's arrays: the
    reference that the same indices must give the same batch."""
    d = {k: v.cpu().numpy() for k, v in buf.data.items()}
    final = {k: v.cpu().numpy() for k, v in buf.final.items()}
    R = buf.rows
    g = np.random.randint(max(0, buf.t - R), buf.t - n_step, size=batch_size)
    env = np.random.randint(0, buf.B, size=batch_size)
    rows, cols = (g[:, None] + np.arange(n_step)) % R, env[:, None]
    term, trunc = d["terminated"][rows, cols], d["truncated"][rows, cols]
    ended = (term | trunc).any(1)
    first = (term | trunc).argmax(1)
    m = np.where(ended, first + 1, n_step)
    weights = np.where(np.arange(n_step) < m[:, None], GAMMA ** np.arange(n_step), 0.0)
    reward = (weights * d["reward"][rows, cols]).sum(1).astype(np.float32)
    at = np.arange(batch_size), first
    terminated = ended & term[at]
    truncated = ended & trunc[at] & ~term[at]
    slot = np.where(truncated, d["final_slot"][rows[at], env], -1)
    end_row = np.where(ended, (rows[at] + 1) % R, (g + n_step) % R)
    next_obs, next_bits = d["obs"][end_row, env], d["avail"][end_row, env]
    has_final = slot >= 0
    next_obs[has_final] = final["obs"][slot[has_final]]
    next_bits[has_final] = final["avail"][slot[has_final]]
    row = g % R
    return {
        "obs": d["obs"][row, env],
        "reward": reward,
        "discount": (GAMMA**m * ~terminated).astype(np.float32),
        "next_obs": next_obs,
        "actions": d["actions"][row, env].astype(np.int64),
        "avail": np.unpackbits(d["avail"][row, env], axis=-1, count=N_ACTIONS).astype(bool),
        "next_avail": np.unpackbits(next_bits, axis=-1, count=N_ACTIONS).astype(bool),
        "truncated": truncated,
    }


@pytest.mark.parametrize("n_step", [1, 20])
@pytest.mark.parametrize("device", sorted({torch.device("cpu"), LEARNER}, key=str))
def test_same_indices_give_the_numpy_samplers_batch(n_step, device):
    data = stream(60)
    buf = ReplayBuffer(spec(1000), B, 3 * 25, device=device)  # wraps; the side store grows
    for tr in data:
        buf.add(tr)
    np.random.seed(2)
    ref = numpy_sample(buf, 400, n_step)
    np.random.seed(2)
    s = buf.sample(400, n_step, GAMMA, torch.device("cpu"))
    assert ref["truncated"].any()  # some batches bootstrap from the side store
    for key in ("obs", "next_obs", "actions", "avail", "next_avail"):
        assert np.array_equal(getattr(s, key).numpy(), ref[key]), key
    for key in ("reward", "discount"):
        np.testing.assert_allclose(getattr(s, key).numpy(), ref[key], rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("count", [1, 8, 11, 16])
def test_unpack_bits_is_numpys(count):
    bits = np.random.default_rng(count).integers(0, 256, (7, 3, -(-count // 8)), dtype=np.uint8)
    expected_bits = np.unpackbits(bits, axis=-1, count=count).astype(bool)
    assert np.array_equal(unpack_bits(torch.from_numpy(bits), count).numpy(), expected_bits)


@pytest.mark.parametrize("source, target", [("cpu", LEARNER), (LEARNER, "cpu")])
def test_checkpoint_loads_across_replay_devices(source, target):
    """Saved through torch.save on one device, loaded onto the other; only live rows written."""
    data = stream(30)
    buf = ReplayBuffer(spec(100), B, 3 * 50, device=source)
    for tr in data:
        buf.add(tr)
    saved = buf.state_dict()
    row_bytes = B * N_AGENTS * 4 * 4
    assert saved["data"]["obs"].untyped_storage().nbytes() == 30 * row_bytes  # not the capacity
    file = io.BytesIO()
    torch.save(saved, file)
    file.seek(0)
    restored = ReplayBuffer(spec(100), B, 3 * 50, device=target)
    restored.load_state_dict(torch.load(file, map_location=target))
    assert restored.nbytes == buf.nbytes
    assert_same_samples(buf, restored)
    assert all(v.device.type == torch.device(target).type for v in restored.final.values())
