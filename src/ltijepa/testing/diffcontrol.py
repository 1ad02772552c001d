"""Hypothesis strategies for the differentiable LQR: problems of random sizes and seeds.

Each draw is :func:`~ltijepa.diffcontrol.problems.random_lqr_problem` at a drawn batch,
horizon, state and control dimension and seed (float64), with its probe-loss weights, so a
failing example is reproduced from five integers.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from ltijepa.diffcontrol.problems import LQRProblem, random_lqr_problem

__all__ = ["lqr_problems"]


@st.composite
def lqr_problems(draw, *, max_batch: int = 3, max_horizon: int = 6, max_n: int = 3, max_m: int = 3):
    """``(problem, weights)``: a random :class:`LQRProblem` and probe-loss weights of ``tau``'s shape.

    ``max_batch``, ``max_horizon``, ``max_n``, ``max_m`` bound the drawn sizes (each from 1).
    """
    sizes = [draw(st.integers(1, bound)) for bound in (max_batch, max_horizon, max_n, max_m)]
    seed = draw(st.integers(0, 2**32 - 1))
    problem: LQRProblem = random_lqr_problem(*sizes, rng=seed)
    weights = torch.as_tensor(np.random.default_rng(seed + 1).standard_normal(tuple(problem.c.shape)))
    return problem, weights
