"""The LMI program of one pair as Clarabel conic data, built with numpy/scipy once per pair.

:func:`~ltijepa.multitask.gradient_bounds.bisimulation_bound` solves, for every lam of its
search, the program of ``lem-mt-lmi`` (``eq-mt-lmi``) in the normalised form of
:func:`~ltijepa.multitask.gradient_bounds.build_bisimulation_program`,

.. math::

    \\min u \\;\\; \\text{s.t.}\\;
    \\begin{bmatrix} M & C^\\top \\\\ C & I_p \\end{bmatrix} \\succeq 0,\\;
    \\begin{bmatrix} (1-\\lambda) M & A^\\top M \\\\ M A & M \\end{bmatrix} \\succeq 0,\\;
    M \\succeq s I,\\; s \\ge s_{\\min},\\; \\operatorname{tr}(M Z_0)^2 \\le u s.

The cvxpy program must keep A_ij and C as Parameters of one program for all pairs, hence
the Schur forms of size N + p and 2N (N = 2n). For one pair they are constants, and since
M >= s I > 0 the two block LMIs are equivalent to their Schur complements, N x N cones:

.. math::

    M - C^\\top C \\succeq 0, \\qquad (1 - \\lambda) M - A^\\top M A \\succeq 0,

same feasible set, same optimum; Clarabel's KKT system shrinks accordingly (on unicycle
pairs, N = 6, about 12 interior-point iterations instead of 21 and a quarter of the time per
solve), and the DPP parameter map and the unpacking of cvxpy are gone
(``benchmarks/gradient_bounds.py`` times both ways). The conic data of Clarabel, min q^T x s.t. b - A x in K, are written down directly:
x = (m, s, u) with m the upper triangle of M (M = sum_k m_k B_k over the symmetric basis
B_k), each LMI S(x) >= 0 an svec row block (upper triangle, column-major, off-diagonals times
sqrt 2, the convention of ``clarabel.PSDTriangleConeT``). 1 - lam enters linearly, in the
decrease LMI only, so A(lam) = A_0 + (1 - lam) A_1 with both built once per pair.
The cvxpy program stays the reference (``BisimConfig(solver="cvxpy")``) and the fallback
when Clarabel returns no solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import clarabel
import numpy as np
import scipy.sparse as sp

from ltijepa.checks import as_matrix, check_positive

__all__ = ["PairLMIProgram", "symmetric_basis", "svec", "bisimulation_pair_program"]

#: Clarabel statuses read as cvxpy's (the others are reported by their Clarabel names).
_STATUSES = {"Solved": "optimal", "AlmostSolved": "optimal_inaccurate"}


def _upper(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the upper triangle of a k x k matrix, column by column."""
    cols, rows = np.tril_indices(k)
    return rows, cols


def symmetric_basis(N: int) -> np.ndarray:
    """The basis B_k = e_i e_j^T + e_j e_i^T (i < j), e_i e_i^T of N x N symmetric matrices,
    shape (N (N + 1) / 2, N, N), in the order of :func:`svec`.

    >>> symmetric_basis(2)[:, 0, 1].tolist()
    [0.0, 1.0, 0.0]
    """
    rows, cols = _upper(N)
    basis = np.zeros((len(rows), N, N))
    k = np.arange(len(rows))
    basis[k, rows, cols] = basis[k, cols, rows] = 1.0
    return basis


def svec(S: np.ndarray) -> np.ndarray:
    """The svec of Clarabel's PSD triangle cone: upper triangle of the last two axes, column by
    column, off-diagonal entries times sqrt 2 (so svec(X) . svec(Y) = tr(X Y)).

    Parameters
    ----------
    S : numpy.ndarray, shape (..., N, N)
        Symmetric matrices (only the upper triangle is read).

    >>> svec(np.array([[1.0, 2.0], [2.0, 3.0]])).round(6).tolist()
    [1.0, 2.828427, 3.0]
    """
    rows, cols = _upper(S.shape[-1])
    return S[..., rows, cols] * np.where(rows == cols, 1.0, math.sqrt(2.0))


@dataclass(frozen=True)
class PairLMIProgram:
    """min q^T x s.t. b - (A_0 + (1 - lam) A_1) x in K, with M = sum_k x_k B_k.

    Build it with :func:`bisimulation_pair_program`; :meth:`solve` sets 1 - lam.
    """

    q: np.ndarray
    """Objective vector."""
    A_0: sp.csc_matrix
    """The constraint matrix without the lam-dependent entries (the pattern of both)."""
    A_1: sp.csc_matrix
    """The coefficient of 1 - lam, on the pattern of ``A_0``."""
    b: np.ndarray
    """Constraint offsets."""
    cones: tuple
    """Clarabel cones of the rows of A, in order."""
    basis: np.ndarray
    """The symmetric basis of the first ``len(basis)`` entries of x (the certificate M)."""

    def solve(self, one_minus_lam: float) -> tuple[np.ndarray | None, str]:
        """(M, status) at 1 - lam; M is None unless Clarabel solved or almost solved with a
        finite x (status then names Clarabel's).

        Parameters
        ----------
        one_minus_lam : float
            1 - lambda, the decay factor of the second LMI ``(1 - lam) M - A^T M A >= 0``.
        """
        A = self.A_0.copy()
        A.data = self.A_0.data + one_minus_lam * self.A_1.data
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        solution = clarabel.DefaultSolver(sp.csc_matrix((len(self.q), len(self.q))), self.q, A, self.b,
                                          list(self.cones), settings).solve()
        status = str(solution.status)
        x = np.asarray(solution.x)
        if status not in _STATUSES or not np.all(np.isfinite(x)):
            return None, f"Clarabel: {status}"
        return np.tensordot(x[: len(self.basis)], self.basis, axes=1), _STATUSES[status]


def _lmi_rows(blocks: np.ndarray) -> np.ndarray:
    """The rows of A of one LMI from its coefficient matrices (variables, k, k): -svec, transposed
    to (k (k + 1) / 2, variables)."""
    return -svec(blocks).T


def bisimulation_pair_program(A: np.ndarray, C: np.ndarray, Z0: np.ndarray, s_min: float) -> PairLMIProgram:
    """The program of the module docstring for one pair's normalised (A_ij, C, Z_0).

    Parameters
    ----------
    A : array, (N, N)
        The lifted closed loop diag(A_K^(i), A_K^(j)), N = 2 n.
    C : array, (p, N)
        The output matrix (:func:`~ltijepa.multitask.gradient_bounds.output_matrix`), scaled.
    Z0 : array, (N, N)
        diag(Sigma0_i, Sigma0_j), scaled.
    s_min : float
        The lower bound on s.

    Returns
    -------
    PairLMIProgram
        x = (m, s, u): cones R_+ (s >= s_min), SOC (u + s, 2 tr(M Z_0), u - s), then the
        N x N PSD cones M - C^T C (17a), (1 - lam) M - A^T M A (17b) and M - s I.

    Raises
    ------
    ShapeError
        If A is not square or C, Z0 do not match its size (the message names the matrix).
    DataError
        If an entry is not finite.
    ParameterError
        If s_min <= 0.
    """
    N = len(as_matrix("A", A, (None, None)))
    A, C, Z0 = as_matrix("A", A, (N, N)), as_matrix("C", C, (None, N)), as_matrix("Z0", Z0, (N, N))
    s_min = check_positive("s_min", s_min)
    basis = symmetric_basis(N)
    nm = len(basis)
    s, u = nm, nm + 1
    columns = nm + 2

    def rows(count: int) -> np.ndarray:
        return np.zeros((count, columns))

    nonneg, soc = rows(1), rows(3)
    nonneg[0, s] = -1.0  # s - s_min >= 0
    soc[0, [s, u]] = -1.0
    soc[1, :nm] = -2.0 * np.einsum("kij,ji->k", basis, Z0)
    soc[2, [s, u]] = 1.0, -1.0
    # (17a) M - C^T C and (17b) (1 - lam) M - A^T M A, the latter's M term in A_1
    output_rows, decrease_rows, decrease_lam, floor_rows = (rows(nm) for _ in range(4))
    output_rows[:, :nm] = decrease_lam[:, :nm] = floor_rows[:, :nm] = _lmi_rows(basis)
    decrease_rows[:, :nm] = -_lmi_rows(A.T @ basis @ A)
    # M - s I
    floor_rows[:, s] = svec(np.eye(N))
    A_0 = np.vstack([nonneg, soc, output_rows, decrease_rows, floor_rows])
    A_1 = np.zeros_like(A_0)
    start = 4 + len(output_rows)
    A_1[start:start + len(decrease_rows)] = decrease_lam
    pattern = sp.csc_matrix((A_0 != 0) | (A_1 != 0))
    rows_, cols_ = pattern.nonzero()  # csc order of the pattern's entries
    A_0s, A_1s = (sp.csc_matrix((X[rows_, cols_], (rows_, cols_)), shape=A_0.shape) for X in (A_0, A_1))
    b = np.concatenate([[-s_min], np.zeros(3), -svec(C.T @ C), np.zeros(2 * nm)])
    q = np.zeros(columns)
    q[u] = 1.0
    cones = (clarabel.NonnegativeConeT(1), clarabel.SecondOrderConeT(3), *(clarabel.PSDTriangleConeT(N),) * 3)
    return PairLMIProgram(q, A_0s, A_1s, b, cones, basis)
