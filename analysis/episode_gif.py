"""One SMAX episode as a GIF, drawn by jaxmarl's SMAXVisualizer.

    python -m analysis.episode_gif MAP OUT.gif [--run RUN_DIR] [--seed N] [--dpi D]

With ``--run`` the allies act greedily with the run's checkpointed learner (as in evaluation);
without it, uniformly at random among their available actions. The enemy is SMAX's scripted one.
On maps with medivacs, ``omdpg.envs.medivac`` draws them as diamonds with their heal range and
heals as green beams.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from omdpg.envs.checker import random_actions


def _policy(run: Path | None, adapter, rng):
    """actions(obs, state, avail) -> [n] ints: the run's greedy learner, or random available."""
    spec = adapter.spec
    if run is None:
        return lambda obs, state, avail: random_actions(adapter, avail, rng)[0]
    import torch

    from omdpg.cli import build_config, parser
    from omdpg.grouping import make_groups
    from omdpg.learner import learner_class

    command = json.loads((run / "config.json").read_text())["provenance"]["command"]
    cfg = build_config(parser().parse_args(command[1:]))
    if (cfg.env, cfg.map) != ("smax", spec.map):
        sys.exit(f"error: {run} trained on {cfg.env}:{cfg.map}, not smax:{spec.map}")
    groups = make_groups(cfg.grouping, spec.agent_types, cfg.seed)
    learner = learner_class(cfg.algo)(
        spec, groups, cfg.learner, cfg.protocol, cfg.n_envs, torch.device("cpu")
    )
    saved = torch.load(run / "checkpoint" / "state.pt", map_location="cpu", weights_only=False)
    learner.load_state_dict(saved["learner"])

    def act(obs, state, avail):
        with torch.no_grad():
            return np.asarray(learner.act(obs, state, avail, explore=False))[0]

    return act


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("map", help="a SMAX map, e.g. MMM2")
    p.add_argument("out", type=Path, help="the GIF to write")
    p.add_argument("--run", type=Path, help="a run folder whose learner plays the allies")
    p.add_argument("--seed", type=int, default=0, help="the episode's seed")
    p.add_argument("--dpi", type=int, default=60, help="resolution (6 x 5 inch frames)")
    args = p.parse_args(argv)

    import jax
    from jaxmarl.viz.visualizer import SMAXVisualizer

    from omdpg.envs import make_env
    from omdpg.envs.smax import env_arrays

    adapter = make_env("smax", args.map, 1)
    env = adapter._env
    act = _policy(args.run, adapter, np.random.default_rng(args.seed))
    key, sub = jax.random.split(jax.random.PRNGKey(args.seed))
    obs, state = env.reset(sub)
    step = jax.jit(env.step)
    sequence, done, ret = [], False, 0.0
    while not done:
        o, s, m = (np.array(x)[None] for x in env_arrays(env, obs, state))  # writable
        actions = dict(zip(env.agents, (int(a) for a in act(o, s, m))))
        key, sub = jax.random.split(key)
        sequence.append((sub, state, actions))  # the visualizer replays step(sub, state, actions)
        obs, state, reward, dones, _ = step(sub, state, actions)
        done, ret = bool(dones["__all__"]), ret + float(reward[env.agents[0]])
    viz = SMAXVisualizer(env, sequence)
    viz.fig.set_dpi(args.dpi)
    viz.animate(save_fname=str(args.out), view=False)
    print(f"{args.out}: {len(sequence)} env steps, return {ret:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
