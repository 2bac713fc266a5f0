"""The command line (docs/design.md, contract 1): train, eval, envs, algos, plan."""

from __future__ import annotations

import argparse
import errno
import sys

from omdpg.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse, with bad arguments reported like every other bad input: one line, exit 2."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}; see {self.prog} --help")


def build_config(args: argparse.Namespace):
    """The run's whole configuration from `omdpg train`'s arguments, validated: the one place a
    run's values are checked (a study's cells are checked through it too, omdpg/studies.py).
    --steps is rounded down to a multiple of n_envs, since every step advances all n_envs envs."""
    from omdpg.config import EvalConfig, ProtocolConfig, RunConfig, set_key, validate
    from omdpg.envs.registry import backend, lookup
    from omdpg.learner import check_supports, learner_class

    lookup(args.env, args.map)
    protocol = backend(args.env).protocol
    cls = learner_class(args.algo)
    check_supports(cls, args.algo, args.env)
    cfg = RunConfig(
        algo=args.algo,
        env=args.env,
        map=args.map,
        seed=args.seed,
        steps=args.steps,
        grouping=args.grouping or cls.default_grouping,
        device=args.device,
        n_envs=cls.default_n_envs(args.env),
        eval=EvalConfig(),
        protocol=ProtocolConfig(gamma=protocol.gamma, reward_scale=protocol.reward_scale),
        learner=cls.default_config(args.env),
    )
    lambda_pu = [] if args.lambda_pu is None else [f"gqc.lambda_pu={args.lambda_pu!r}"]
    given = set()
    for item in lambda_pu + (args.set or []):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set {item}: expected key=value, e.g. --set eval.episodes=16")
        if key in given:
            raise UserError(f"{key} is given twice (--set or --lambda-pu): give it once")
        given.add(key)
        set_key(cfg, key, value.strip())
    validate(cfg)
    cls.check_env(cfg.learner, args.env)
    steps = cfg.steps - cfg.steps % cfg.n_envs
    if steps == 0:
        raise UserError(
            f"--steps {cfg.steps} is less than one step of the {cfg.n_envs} parallel envs "
            f"(n_envs): use --steps {cfg.n_envs} or more"
        )
    cfg.steps = steps
    return cfg


def cmd_train(args) -> int:
    from omdpg.integrity import check_out
    from omdpg.runner import train

    cfg = build_config(args)
    out = check_out(args.out)
    rounded = (
        f"note: --steps {args.steps} is not a multiple of n_envs ({cfg.n_envs}): "
        f"training {cfg.steps} env steps"
    )
    return train(cfg, out, wait=args.wait, note=rounded if cfg.steps != args.steps else None)


def cmd_envs(args) -> int:
    from omdpg.envs.registry import BACKENDS, MAPS
    from omdpg.grouping import make_groups

    for env, b in BACKENDS.items():
        why = b.unavailable()
        p = b.protocol
        print(f"{env}: {'runs here' if why is None else 'cannot run here: ' + why}")
        print(
            f"  protocol for every algorithm: gamma {p.gamma}, rewards x {p.reward_scale:g} "
            f"({p.source})"
        )
        for (e, name), m in MAPS.items():
            if e != env:
                continue
            g = make_groups("type", m.agent_types, 0)
            groups = " | ".join(
                f"{m.agent_types[g.members(k)[0]]} x{len(g.members(k))}" for k in range(g.n_groups)
            )
            print(
                f"  {name:18s} {len(m.agent_types):3d} agents  {m.allies}"
                f"{'' if m.enemies == '-' else ' vs ' + m.enemies}"
            )
            print(
                f"  {'':18s} groups (type): {groups}; episode limit {m.episode_limit}"
                f"{'; heterogeneous' if m.heterogeneous else ''}; {m.role} map"
            )
            print(f"  {'':18s} {m.notes}")
    return 0


def per_env_defaults(cls) -> dict[str, str]:
    """{envs: the defaults that differ there from those `omdpg algos` lists}, envs with the same
    differences together, among the envs whose actions ``cls`` takes (OMDPG's n-step returns and
    update schedule on discrete envs, for one)."""
    from omdpg.config import RunConfig, flat_keys
    from omdpg.envs.registry import BACKENDS

    base, out = flat_keys(cls.Config()), {}  # out: {differences: [env, ...]}
    for env, b in BACKENDS.items():
        if not (cls.discrete if b.discrete else cls.continuous):
            continue
        n_envs = cls.default_n_envs(env)
        changed = [f"n_envs = {n_envs}"] if n_envs != RunConfig().n_envs else []
        changed += [
            f"{key} = {value}"
            for key, (value, _) in flat_keys(cls.default_config(env)).items()
            if value != base[key][0]
        ]
        if changed:
            out.setdefault(", ".join(changed), []).append(env)
    return {", ".join(envs): changed for changed, envs in out.items()}


def cmd_algos(args) -> int:
    from omdpg.config import flat_keys
    from omdpg.learner import ALGORITHMS, learner_class

    for name in ALGORITHMS:
        try:
            cls = learner_class(name)
        except UserError as err:
            print(f"{name}: not available ({err})")
            continue
        actions = "/".join(
            a for a, ok in (("discrete", cls.discrete), ("continuous", cls.continuous)) if ok
        )
        print(f"{name}: {cls.__doc__.strip().splitlines()[0]}")
        print(f"  actions: {actions}; default grouping: {cls.default_grouping}; {cls.sharing}")
        for key, (value, help_) in flat_keys(cls.Config()).items():
            print(f"    {key} = {value}  # {help_}")
        for env, changed in per_env_defaults(cls).items():
            print(f"  on {env}: {changed}")
    return 0


def cmd_eval(args) -> int:
    from omdpg.eval_run import main as evaluate

    return evaluate(args)


def cmd_probe(args) -> int:
    from omdpg.probe import main as probe

    return probe(args)


def cmd_plan(args) -> int:
    from omdpg.plan import main as plan

    return plan(args.study)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="omdpg", description="OMDPG reproducibility harness")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one run into a run folder (resumes if interrupted)")
    t.add_argument("--algo", required=True)
    t.add_argument("--env", required=True)
    t.add_argument("--map", required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--steps", type=int, required=True, help="env steps, rounded down to a multiple of n_envs"
    )
    t.add_argument("--out", required=True, help="the run folder (new, empty, or this run's)")
    t.add_argument(
        "--wait",
        action="store_true",
        help="if another process is writing --out, wait for it to end instead of stopping "
        "(the workflow's jobs wait so for a killed workflow's orphaned jobs)",
    )
    t.add_argument(
        "--lambda-pu", type=float, default=None, help="OMDPG: PU loss weight (gqc.lambda_pu)"
    )
    t.add_argument("--grouping", choices=("type", "random", "single", "none"), default=None)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override any config key (omdpg algos lists them)",
    )
    t.set_defaults(func=cmd_train)
    e = sub.add_parser(
        "eval", help="evaluate a run folder's policy greedily and record an episode (no training)"
    )
    e.add_argument("run", help="a run folder (omdpg train --out)")
    e.add_argument("--episodes", type=int, default=32, help="greedy episodes (default 32)")
    e.add_argument(
        "--record",
        metavar="PATH",
        help="record episode 0: .gif (SMAX, MaMuJoCo), .mp4 (MaMuJoCo), .SC2Replay (SMAC)",
    )
    e.add_argument(
        "--learner",
        choices=("last", "best"),
        default="last",
        help="the latest checkpoint, or the policy of the best evaluation (the absolute metric's)",
    )
    e.add_argument(
        "--seed", type=int, default=None, help="evaluation seed (default: the absolute metric's)"
    )
    e.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    e.set_defaults(func=cmd_eval)
    pr = sub.add_parser(
        "probe",
        help="discrete OMDPG: the policy's entropy against the critic's action gaps and alpha, "
        "on the checkpoint's replay (omdpg/probe.py)",
    )
    pr.add_argument("run", help="an OMDPG run folder with a checkpoint (omdpg train --out)")
    pr.add_argument("--samples", type=int, default=4096, help="replay transitions (default 4096)")
    pr.add_argument("--seed", type=int, default=0, help="seed of the replay draw (default 0)")
    pr.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    pr.set_defaults(func=cmd_probe)
    sub.add_parser("envs", help="every backend and map, and whether it runs here").set_defaults(
        func=cmd_envs
    )
    sub.add_parser("algos", help="every algorithm, its sharing mode and defaults").set_defaults(
        func=cmd_algos
    )
    pl = sub.add_parser("plan", help="jobs, env steps and estimated hours of a study")
    pl.add_argument("study")
    pl.set_defaults(func=cmd_plan)
    return p


def main(argv: list[str] | None = None) -> int:
    args = None
    try:
        args = parser().parse_args(argv)
        if args.func in (cmd_train, cmd_eval, cmd_probe):  # the commands that run torch
            from omdpg.config import omp_threads

            omp_threads()  # a bad OMP_NUM_THREADS: one line, before torch's OpenMP loads and warns
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Every file of a run folder is written so that a failed write leaves the old version.
        where = err.filename or getattr(args, "out", None) or "writing"
        print(
            f"error: no space left on the device ({where}): free some space and run the same "
            "command again; a run resumes from its last checkpoint",
            file=sys.stderr,
        )
        return UserError.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
