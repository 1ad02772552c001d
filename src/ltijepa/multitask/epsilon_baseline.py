"""The epsilon-based baseline f_het: a gradient-gap bound from parameter distances alone.

Provenance. The talk (slide "Performance Guarantees: Bounded Policy Gradients") states, after
Wang et al. (FedLQR) and the MAML-LQR line of work, that for any pair of tasks

.. math::

    g_{ij}(K) \\le \\epsilon_A h_1(K) + \\epsilon_B h_2(K) \\triangleq f_{\\rm het}(\\epsilon_A, \\epsilon_B),

with h_1, h_2 "bounded polynomials of the problem data"; Stamouli et al. (2025, Sec. 2.1)
use the same kind of bound with cost deviations too, b_bar(K; b_A, b_B, b_Q, b_R), and refer
for its "exact expression" to an appendix we could not read. The
polynomials h_k were therefore not retrieved. What follows is our own derivation [D] of a
bound of exactly that form, linear in the epsilons, with coefficients evaluated at K.

The formula [D]. Write F_i = A_i - B_i K (u = -K x), delta = eps_A + eps_B ||K|| >=
||F_i - F_j||, and for each task the Lyapunov-operator norms

.. math::

    \\ell_i = \\Big\\|\\sum_{t \\ge 0} F_i^t (F_i^t)^\\top\\Big\\|, \\qquad
    \\ell_i^* = \\Big\\|\\sum_{t \\ge 0} (F_i^t)^\\top F_i^t\\Big\\|

(all norms spectral). Subtracting the Lyapunov equations of the two tasks, and using
||X|| <= ell ||W|| for X = sum_t F^t W (F^t)^T with W symmetric,

.. math::

    \\|\\Sigma_i - \\Sigma_j\\| &\\le \\ell_i \\big[(\\|F_i\\| + \\|F_j\\|)\\|\\Sigma_j\\|\\,\\delta
        + \\epsilon_{\\Sigma_0}\\big] =: d_\\Sigma, \\\\
    \\|P_i - P_j\\| &\\le \\ell_i^* \\big[\\epsilon_Q + \\|K\\|^2 \\epsilon_R
        + (\\|F_i\\| + \\|F_j\\|)\\|P_j\\|\\,\\delta\\big] =: d_P, \\\\
    \\|E_i - E_j\\| &\\le \\epsilon_R \\|K\\| + \\epsilon_B \\|P_i\\| \\|F_i\\|
        + \\|B_j\\| d_P \\|F_i\\| + \\|B_j\\| \\|P_j\\| \\delta =: d_E,

from E = R K - B^T P F, and finally, with grad C = 2 E Sigma and ||X||_F <= sqrt(r) ||X||
for a rank-r matrix, r <= min(m, n),

.. math::

    g_{ij}(K) \\le f_{ij}(K) = 2 \\sqrt{\\min(m, n)}\\, \\big(d_E \\|\\Sigma_i\\|
        + \\|E_j\\|\\, d_\\Sigma\\big)
      = \\epsilon_A h_A + \\epsilon_B h_B + \\epsilon_Q h_Q + \\epsilon_R h_R
        + \\epsilon_{\\Sigma_0} h_{\\Sigma_0}.

The pair (i, j) and (j, i) give two valid bounds; we keep the smaller. The baseline of a
collection is f_het(K) = max_{i != j} f_ij(K), one number per K as in the paper's b_bar(K).

Two ways to evaluate the coefficients (``norms``):

- ``"exact"``: ||Sigma_i||, ||P_i||, ||E_i||, ell_i, ell*_i from Lyapunov solves at K, the
  tightest this derivation gives;
- ``"cost"``: through the cost only, as polynomial bounds in this literature are written
  (Fazel et al. 2018, proofs of Lemmas 11-13): with mu_i = sigma_min(Sigma0_i) and
  q_i = sigma_min(Q_i + K^T R_i K), ||P_i|| <= C_i(K)/mu_i, ||Sigma_i|| <= C_i(K)/q_i,
  ell_i, ell*_i <= C_i(K)/(mu_i q_i), ||E_i|| <= ||R_i|| ||K|| + ||B_i|| ||P_i|| ||F_i||.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltijepa.errors import ParameterError
from ltijepa.lqr.batched import TaskBatch, as_batch, solve_lyapunov_batch
from ltijepa.multitask.heterogeneity import (
    ParameterHeterogeneity,
    parameter_heterogeneity,
    shared_gain,
)
from ltijepa.lqr.task import Task

__all__ = ["NORMS", "EpsilonBound", "epsilon_bound"]

#: How the coefficients h_k are evaluated (module docstring).
NORMS = ("exact", "cost")
_TERMS = ("A", "B", "Q", "R", "Sigma0")


@dataclass(frozen=True)
class EpsilonBound:
    """The epsilon-based baseline at one K."""

    value: float
    """f_het(K) = max_{i != j} f_ij(K) >= max_{i,j} g_ij(K)."""
    pairwise: np.ndarray
    """f_ij(K), (M, M) symmetric with a zero diagonal."""
    h: np.ndarray
    """(M, M, 5): coefficients h_A, h_B, h_Q, h_R, h_Sigma0 of each pair's bound."""
    eps: ParameterHeterogeneity
    """The epsilons of the collection."""
    norms: str
    """``"exact"`` or ``"cost"``."""


def _task_norms(batch: TaskBatch, K: np.ndarray, norms: str) -> dict[str, np.ndarray]:
    """Per-task spectral norms the bound needs, each shape (M,)."""
    F = batch.closed_loop(K)
    P, Sigma = batch.P(K), batch.Sigma(K)
    norm = lambda X: np.linalg.norm(X, 2, axis=(-2, -1))  # noqa: E731
    out = {"F": norm(F), "B": norm(batch.B), "K": np.full(batch.M, np.linalg.norm(K, 2))}
    if norms == "exact":
        identity = np.broadcast_to(np.eye(batch.n), F.shape)
        out |= {"P": norm(P), "Sigma": norm(Sigma), "E": norm(batch.E(K)),
                "ell": norm(solve_lyapunov_batch(F, identity)),
                "ell_star": norm(solve_lyapunov_batch(np.swapaxes(F, 1, 2), identity))}
    else:
        cost = np.einsum("kij,kji->k", P, batch.Sigma0)
        mu = np.linalg.eigvalsh(batch.Sigma0)[:, 0]
        q = np.linalg.eigvalsh(batch.Q + K.T @ batch.R @ K)[:, 0]
        out |= {"P": cost / mu, "Sigma": cost / q, "ell": cost / (mu * q), "ell_star": cost / (mu * q)}
        out["E"] = norm(batch.R) * out["K"] + out["B"] * out["P"] * out["F"]
    return out


def _pair_bound(eps: np.ndarray, x: dict, i: int, j: int, rank: int) -> float:
    """f_ij of the module docstring for the epsilon vector (A, B, Q, R, Sigma0): linear in eps."""
    eA, eB, eQ, eR, eS = eps
    k = x["K"][i]
    delta = eA + eB * k
    d_sigma = x["ell"][i] * ((x["F"][i] + x["F"][j]) * x["Sigma"][j] * delta + eS)
    d_P = x["ell_star"][i] * (eQ + k * k * eR + (x["F"][i] + x["F"][j]) * x["P"][j] * delta)
    d_E = eR * k + eB * x["P"][i] * x["F"][i] + x["B"][j] * d_P * x["F"][i] + x["B"][j] * x["P"][j] * delta
    return 2.0 * np.sqrt(rank) * (d_E * x["Sigma"][i] + x["E"][j] * d_sigma)


def epsilon_bound(tasks: Sequence[Task] | TaskBatch, K, *, norms: str = "exact") -> EpsilonBound:
    """The epsilon-based baseline f_het(K) >= max_{i,j} g_ij(K) of the module docstring [D].

    .. math::

        f_{\\rm het}(K) = \\max_{i \\ne j} \\sum_{k \\in \\{A, B, Q, R, \\Sigma_0\\}}
            \\epsilon_k\\, h_k^{(ij)}(K)

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M >= 2 tasks of equal sizes.
    K : array, (m, n)
        A gain stabilizing every task (u = -K x).
    norms : {"exact", "cost"}
        How the coefficients are evaluated (module docstring).

    Returns
    -------
    EpsilonBound

    Raises
    ------
    NotStabilizingError
        Naming the first task (``.task_index``) K does not stabilize.
    ParameterError
        If ``norms`` is not one of :data:`NORMS` or fewer than 2 tasks are given.
    ShapeError
        If K is not (m, n).

    Examples
    --------
    >>> from ltijepa.lqr.families import scalar_pair
    >>> result = epsilon_bound(scalar_pair(0.5), [[0.0]])  # g_12 = 32/9 = 3.56 here
    >>> round(result.eps.eps_A, 6), round(result.value, 4)
    (1.0, 8.2963)
    """
    if norms not in NORMS:
        raise ParameterError(f"norms == {norms!r}, must be one of {NORMS}")
    batch = as_batch(tasks)
    if batch.M < 2:
        raise ParameterError(f"M == {batch.M} tasks, must be >= 2 for a pairwise bound")
    K = shared_gain(batch, K)
    eps = parameter_heterogeneity(batch)
    x = _task_norms(batch, K, norms)
    rank = min(batch.m, batch.n)
    basis = np.eye(len(_TERMS))
    h = np.zeros((batch.M, batch.M, len(_TERMS)))
    for i in range(batch.M):
        for j in range(batch.M):
            if i != j:
                h[i, j] = [_pair_bound(e, x, i, j, rank) for e in basis]
    directed = h @ eps.as_array()
    pairwise = np.minimum(directed, directed.T)
    return EpsilonBound(float(np.max(pairwise)), pairwise, h, eps, norms)
