"""Recordings of one greedy evaluation episode, each with the backend's own tool.

- SMAX: an animated GIF by JaxMARL's ``SMAXVisualizer`` (matplotlib's Pillow writer).
- MaMuJoCo: a GIF or MP4 of MuJoCo's offscreen frames (``render_mode="rgb_array"``) by imageio;
  headless MuJoCo needs MUJOCO_GL=egl (set here unless chosen) or osmesa.
- SMAC / SMACv2: a ``.SC2Replay`` by smac's ``save_replay``, to watch in the StarCraft II client.

``evaluate(..., recorder=...)`` (omdpg/evaluation.py) drives a recorder through episode 0.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import ClassVar

import numpy as np

from omdpg.envs.registry import backend
from omdpg.errors import UserError

# Every 2nd of the 8 world ticks of a SMAX step, from a smaller figure: jaxmarl draws each frame
# three times (about 0.2 s each at its size on one core), so a 50-step episode takes ~30 s.
TICK_STRIDE = 2
GIF_DPI = 72
# SMAXVisualizer waits 64 ms between world ticks. GIF times frames in whole hundredths of a second
# and matplotlib passes 1000 / fps, so only a divisor of 1000 survives the round trip exactly.
GIF_FRAME_MS = 100
MUJOCO_FPS = 20  # HalfCheetah, Walker2d and Ant step 0.05 s of simulated time


class Recorder:
    env_options: ClassVar[dict] = {}  # what make_env needs for this recording

    def __init__(self, path: Path):
        self.path = path

    def before_step(self, env, actions: np.ndarray) -> None:
        pass

    def finish(self, env) -> None:
        raise NotImplementedError


class SmaxGif(Recorder):
    """Each step's key, state and actions; at the end the world ticks in between are stepped
    again from them with the very key the real step used (SmaxEnv.step_inputs), and drawn.

    jaxmarl's expand_state_seq would re-split the key as MultiAgentEnv.step does, but the adapter
    calls step_env with its own split, so the ticks it drew could differ from what happened; this
    follows its expansion otherwise (one state per world tick, attacks as prev_attack_actions).
    """

    def __init__(self, path: Path):
        super().__init__(path)
        self.steps = []

    def before_step(self, env, actions: np.ndarray) -> None:
        key, state = env.step_inputs(0)
        sim = env.simulator
        self.steps.append((key, state, {a: int(actions[0, i]) for i, a in enumerate(sim.agents)}))

    def finish(self, env) -> None:
        import jax
        import matplotlib
        import matplotlib.pyplot as plt
        from jaxmarl.environments.smax.smax_env import State

        sim = env.simulator
        frames = []
        for key, state, actions in self.steps:
            ticks = sim.step_env(key, state, actions, get_state_sequence=True)
            ticks = [State(*fields) for fields in zip(*dataclasses.astuple(ticks))]
            shots = {a: ticks[-1].prev_attack_actions[i] for i, a in enumerate(sim.all_agents)}
            frames += [(key, tick, shots) for tick in ticks[TICK_STRIDE - 1 :: TICK_STRIDE]]
        # Drawing calls jax.lax.cond on fresh lambdas per unit and frame: each one a new
        # compilation under jit (about 60 ms), evaluated directly without it.
        with (
            jax.disable_jit(),
            matplotlib.rc_context(
                {"animation.writer": "pillow", "figure.dpi": GIF_DPI, "savefig.dpi": GIF_DPI}
            ),
        ):
            viz = _every_other_tick()(sim, jax.device_get(frames))
            viz.have_expanded = True  # expanded above
            viz.interval = GIF_FRAME_MS
            viz.animate(save_fname=str(self.path), view=False)
            plt.close(viz.fig)


def _every_other_tick():
    from jaxmarl.viz.visualizer import SMAXVisualizer  # jax: only when a GIF is drawn

    class EveryOtherTick(SMAXVisualizer):
        """SMAXVisualizer over every TICK_STRIDE-th world tick: its update() numbers frames as if
        each were a tick, which would mislabel the env step and misplace the shots."""

        def update(self, frame):
            per_step = self.env.world_steps_per_env_step // TICK_STRIDE
            tick, step = (frame % per_step + 1) * TICK_STRIDE, frame // per_step
            self.im = self.env.update_render(self.im, self.state_seq[frame], tick, step)

    return EveryOtherTick


class MujocoVideo(Recorder):
    env_options: ClassVar[dict] = {"render": True}

    def __init__(self, path: Path):
        super().__init__(path)
        self.frames = []

    def before_step(self, env, actions: np.ndarray) -> None:
        self.frames.append(env.render(0))

    def finish(self, env) -> None:
        import imageio.v3 as iio

        try:
            if self.path.suffix == ".gif":
                iio.imwrite(self.path, self.frames, duration=1000 / MUJOCO_FPS, loop=0)
            else:
                iio.imwrite(self.path, self.frames, fps=MUJOCO_FPS)
        except (ImportError, ValueError, OSError) as err:
            raise UserError(
                f"--record {self.path}: imageio cannot write {self.path.suffix} here ({err}); "
                "record a .gif, or pip install imageio-ffmpeg for .mp4"
            ) from None


class Sc2Replay(Recorder):
    def finish(self, env) -> None:
        env.save_replay(0, self.path)


def recorder_for(env: str, path: Path) -> Recorder:
    """The backend's recorder (its ``Backend.recorder``) for ``path``, or a UserError naming the
    file types it writes."""
    kinds = backend(env).recordings
    if path.suffix not in kinds:
        raise UserError(
            f"--record {path}: {env} episodes are recorded as {' or '.join(kinds)}; "
            f"name the file e.g. {path.with_suffix(kinds[0]).name}"
        )
    if not path.parent.is_dir():
        raise UserError(f"--record {path}: no folder {path.parent}; create it or choose another")
    if env == "mamujoco":
        # mujoco picks its GL backend when it is first imported: before the env is made.
        os.environ.setdefault("MUJOCO_GL", "egl")
    return globals()[backend(env).recorder](path)
