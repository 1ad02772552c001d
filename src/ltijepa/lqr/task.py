"""A discrete-time LQR task and the policy-gradient landscape of its cost.

Sign convention (python-control's): the policy is u_t = -K x_t, so the closed loop is
x_{t+1} = (A - B K) x_t = A_K x_t. The cost of a gain is (Fazel et al. 2018, Sec. 2)

.. math::

    C(K) = \\mathbb{E}_{x_0} \\sum_{t=0}^{\\infty} x_t^\\top Q x_t + u_t^\\top R u_t
         = \\operatorname{tr}(P_K \\Sigma_0),
    \\qquad P_K = Q + K^\\top R K + A_K^\\top P_K A_K,

finite exactly when K is stabilizing, rho(A_K) < 1. Its gradient (Fazel et al., Lemma 1) is

.. math::

    \\nabla C(K) = 2 E_K \\Sigma_K, \\qquad E_K = (R + B^\\top P_K B) K - B^\\top P_K A,
    \\qquad \\Sigma_K = \\Sigma_0 + A_K \\Sigma_K A_K^\\top.

Book labels: `eq-lqr-cost`, `eq-lqr-gradient` (chapter "LQR by policy gradient").
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ltijepa.checks import as_matrix, check_definite, check_stabilizing
from ltijepa.errors import NotStabilizableError, ShapeError, SolverError

__all__ = ["Task", "spectral_radius", "RICCATI_RTOL", "PBH_RTOL", "BADLY_SCALED"]

#: Largest accepted relative residual of a DARE solution (:meth:`Task.riccati_residual`).
RICCATI_RTOL = 1e-8
#: A mode lambda is uncontrollable when sigma_min([(A - lambda I) / ||A||, B D]) <= PBH_RTOL,
#: D scaling B's columns to a largest entry of 1 (:meth:`Task.is_stabilizable`).
PBH_RTOL = 1e-10
#: A failed Riccati solve is reported as badly scaled when 1, ||A|| and sqrt(||B R^{-1} B^T|| ||Q||)
#: (if not 0) span more than this ratio.
BADLY_SCALED = 1e4


def spectral_radius(matrix: np.ndarray) -> float:
    """The largest absolute eigenvalue of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


class Task:
    """A discrete-time LQR task (A, B, Q, R, Sigma0) with u = -K x.

    Parameters
    ----------
    A : array, (n, n)
        Dynamics matrix of x_{t+1} = A x_t + B u_t.
    B : array, (n, m)
        Input matrix.
    Q : array, (n, n)
        State weight, symmetric positive semidefinite.
    R : array, (m, m)
        Input weight, symmetric positive definite.
    Sigma0 : array, (n, n), optional
        Covariance E[x_0 x_0^T] of the initial state, symmetric positive definite;
        default the identity.

    Raises
    ------
    ShapeError
        If a matrix has the wrong shape (the message gives expected and found shapes), is
        ragged, or the system is empty (n == 0 or m == 0).
    DataError
        If a matrix has non-finite, complex or non-numeric entries, is not symmetric, or not
        (semi)definite.

    Examples
    --------
    >>> task = Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    >>> round(task.cost([[0.5]]), 6)  # (1 + 0.25) / (1 - 0.5**2)
    1.666667
    """

    def __init__(self, A, B, Q, R, Sigma0=None):
        self.A = as_matrix("A", A, (None, None))
        n = self.A.shape[0]
        if self.A.shape[1] != n:
            raise ShapeError(f"A must be square: expected shape ({n}, {n}), found {self.A.shape}", name="A",
                             expected=(n, n), found=self.A.shape)
        if n == 0:
            raise ShapeError("A is 0x0: a task has n >= 1 states", name="A", found=(0, 0))
        self.B = as_matrix("B", B, (n, None))
        m = self.B.shape[1]
        if m == 0:
            raise ShapeError(f"B has no columns: a task has m >= 1 inputs, found shape {self.B.shape}", name="B",
                             expected=(n, None), found=self.B.shape)
        self.Q = as_matrix("Q", Q, (n, n))
        self.R = as_matrix("R", R, (m, m))
        self.Sigma0 = as_matrix("Sigma0", np.eye(n) if Sigma0 is None else Sigma0, (n, n))
        check_definite("Q", self.Q, strict=False)
        check_definite("R", self.R, strict=True)
        check_definite("Sigma0", self.Sigma0, strict=True)
        self._optimal: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"Task(n={self.n}, m={self.m})"

    @property
    def n(self) -> int:
        """State dimension."""
        return self.A.shape[0]

    @property
    def m(self) -> int:
        """Input dimension."""
        return self.B.shape[1]

    def check_gain(self, K) -> np.ndarray:
        """``K`` as a finite (m, n) float array; raises ShapeError/DataError otherwise."""
        return as_matrix("K", K, (self.m, self.n))

    def closed_loop(self, K) -> np.ndarray:
        """A_K = A - B K."""
        return self.A - self.B @ self.check_gain(K)

    def spectral_radius(self, K) -> float:
        """rho(A - B K)."""
        return spectral_radius(self.closed_loop(K))

    def is_stabilizing(self, K) -> bool:
        """Whether rho(A - B K) < 1."""
        return self.spectral_radius(K) < 1.0

    def _stable_closed_loop(self, K) -> tuple[np.ndarray, np.ndarray]:
        K = self.check_gain(K)
        A_K = self.A - self.B @ K
        check_stabilizing(spectral_radius(A_K))
        return K, A_K

    def P(self, K) -> np.ndarray:
        """The value matrix P_K solving P = Q + K^T R K + A_K^T P A_K.

        Raises
        ------
        NotStabilizingError
            If rho(A - B K) >= 1 (the cost is infinite); ``.rho`` holds the radius.
        """
        K, A_K = self._stable_closed_loop(K)
        P = scipy.linalg.solve_discrete_lyapunov(A_K.T, self.Q + K.T @ self.R @ K)
        return (P + P.T) / 2

    def Sigma(self, K) -> np.ndarray:
        """The state covariance sum Sigma_K = sum_t E[x_t x_t^T] = Sigma0 + A_K Sigma_K A_K^T.

        Raises
        ------
        NotStabilizingError
            If rho(A - B K) >= 1.
        """
        _, A_K = self._stable_closed_loop(K)
        S = scipy.linalg.solve_discrete_lyapunov(A_K, self.Sigma0)
        return (S + S.T) / 2

    def E(self, K) -> np.ndarray:
        """E_K = (R + B^T P_K B) K - B^T P_K A, shape (m, n); zero exactly at the optimum.

        Raises
        ------
        NotStabilizingError
            If rho(A - B K) >= 1.
        """
        K = self.check_gain(K)
        P = self.P(K)
        return (self.R + self.B.T @ P @ self.B) @ K - self.B.T @ P @ self.A

    def cost(self, K) -> float:
        """C(K) = tr(P_K Sigma0) (Fazel et al. 2018, Sec. 2); finite and >= 0.

        Raises
        ------
        NotStabilizingError
            If rho(A - B K) >= 1: the cost is infinite, never returned as a number.
        """
        return float(np.trace(self.P(K) @ self.Sigma0))

    def gradient(self, K) -> np.ndarray:
        """nabla C(K) = 2 E_K Sigma_K (Fazel et al. 2018, Lemma 1), shape (m, n).

        Raises
        ------
        NotStabilizingError
            If rho(A - B K) >= 1.
        """
        return 2.0 * self.E(K) @ self.Sigma(K)

    def is_stabilizable(self) -> bool:
        """Whether some gain stabilizes (A, B): the PBH test on the modes with |lambda| >= 1.

        A mode lambda of A is controllable when rank [A - lambda I, B] = n (Popov-Belevitch-Hautus).
        The rank is read from the smallest singular value of ``[(A - lambda I) / ||A||, B D]``,
        D scaling B's columns to a largest entry of 1 (a change of input units u = D v changes nothing), so
        the verdict does not depend on the scale of A or of B's columns: ``Task([[2]], [[1e-11]],
        ...)`` and ``Task([[1e11]], [[1]], ...)`` are stabilizable. The mode is uncontrollable when
        that singular value is <= :data:`PBH_RTOL`.
        """
        return self._uncontrollable_unstable_mode() is None

    def _uncontrollable_unstable_mode(self) -> complex | None:
        columns = np.max(np.abs(self.B), axis=0)  # not the 2-norm, whose squares underflow below 1e-154
        B = self.B / np.where(columns > 0, columns, 1.0)
        scale = float(np.linalg.norm(self.A, 2))  # >= |lambda| >= 1 for every mode tested
        for eigenvalue in np.linalg.eigvals(self.A):
            if abs(eigenvalue) < 1.0:
                continue
            pencil = np.hstack([(self.A - eigenvalue * np.eye(self.n)) / scale, B])
            singular = np.linalg.svd(pencil, compute_uv=False)
            if singular[-1] <= PBH_RTOL:
                return complex(eigenvalue)
        return None

    def _badly_scaled(self, failure: SolverError) -> SolverError:
        """``failure`` of the Riccati solve of a stabilizable task, or a SolverError saying the
        problem is badly scaled.

        The DARE's pencil holds I, A, G = B R^{-1} B^T and Q; a common change of state or input
        units (x -> c x, u -> c u) and a common factor of Q and R leave ||A|| and ||G|| ||Q|| as
        they are, so the problem is
        badly scaled when 1, ||A|| and sqrt(||G|| ||Q||) (if not 0) span more than
        :data:`BADLY_SCALED` (``Task([[2]], [[1e-11]], [[1]], [[1]])``: sqrt(||G|| ||Q||) == 1e-11).
        """
        weight = np.linalg.norm(scipy.linalg.solve_triangular(np.linalg.cholesky(self.R), self.B.T, lower=True), 2)
        coupling = float(weight * np.sqrt(np.linalg.norm(self.Q, 2)))  # sqrt(||G|| ||Q||), without underflow
        scales = [1.0, float(np.linalg.norm(self.A, 2))] + ([coupling] if coupling > 0 else [])
        if max(scales) <= BADLY_SCALED * min(scales):
            return failure
        return SolverError(
            f"(A, B) is stabilizable, but the problem is badly scaled: ||A|| == {scales[1]:.3g} and "
            f"sqrt(||B R^-1 B^T|| ||Q||) == {coupling:.3g} span, with 1, a factor "
            f"{max(scales) / min(scales):.3g} > {BADLY_SCALED:g}, which no common change of units removes "
            f"(scipy's Riccati solve: {failure})", status="badly scaled",
        )

    def _solve_dare(self) -> tuple[np.ndarray, np.ndarray]:
        if self._optimal is None:
            mode = self._uncontrollable_unstable_mode()
            if mode is not None:
                raise NotStabilizableError(
                    f"(A, B) is not stabilizable: the mode lambda == {mode:.6g} (|lambda| == "
                    f"{abs(mode):.6g} >= 1) is not controllable, so no gain stabilizes the task",
                    eigenvalue=mode,
                )
            try:
                P = self._riccati_solution()
                K = np.linalg.solve(self.R + self.B.T @ P @ self.B, self.B.T @ P @ self.A)
                if not self.is_stabilizing(K):
                    raise SolverError(
                        f"the Riccati gain does not stabilize: rho == {self.spectral_radius(K):.6g} "
                        "(a mode of A on the unit circle is unobservable through Q)", status="not stabilizing",
                    )
            except SolverError as failure:
                raise self._badly_scaled(failure) from None
            K.setflags(write=False)
            self._optimal = (K, (P + P.T) / 2)
        return self._optimal

    def riccati_residual(self, P) -> float:
        """Relative residual of the DARE A^T P A - P - A^T P B (R + B^T P B)^{-1} B^T P A + Q = 0.

        The Frobenius norm of the left side divided by max(||Q||, ||P||, ||A^T P A||, 1e-300).
        """
        P = np.asarray(P, dtype=float)
        AtPA, AtPB = self.A.T @ P @ self.A, self.A.T @ P @ self.B
        residual = AtPA - P - AtPB @ np.linalg.solve(self.R + self.B.T @ P @ self.B, AtPB.T) + self.Q
        scale = max(np.linalg.norm(self.Q), np.linalg.norm(P), np.linalg.norm(AtPA), 1e-300)
        return float(np.linalg.norm(residual) / scale)

    def _riccati_solution(self) -> np.ndarray:
        """scipy's DARE solution, checked: balanced first, unbalanced if that fails or is wrong.

        scipy's balancing can fail on badly scaled data (B with entries ~1e-80 returns P = 0
        with a RuntimeWarning), so every solution is checked by its residual.
        """
        failures = []
        for balanced in (True, False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    P = scipy.linalg.solve_discrete_are(self.A, self.B, self.Q, self.R, balanced=balanced)
                residual = self.riccati_residual(P)  # R + B^T P B may be singular to working precision
            except (np.linalg.LinAlgError, ValueError, RuntimeWarning) as exc:
                failures.append(f"balanced={balanced}: {exc}")
                continue
            if residual <= RICCATI_RTOL:
                return P
            failures.append(f"balanced={balanced}: relative residual == {residual:.3g} > {RICCATI_RTOL:g}")
        raise SolverError(
            "the discrete Riccati equation has no stabilizing solution scipy can find: " + "; ".join(failures),
            status="failed",
        )

    def optimal_gain(self) -> np.ndarray:
        """The optimal gain K* = (R + B^T P B)^{-1} B^T P A, P the stabilizing DARE solution.

        Raises
        ------
        NotStabilizableError
            If an unstable mode of A is uncontrollable (:meth:`is_stabilizable`).
        SolverError
            If scipy finds no stabilizing Riccati solution; ``status == "badly scaled"`` when the
            norms of A, B R^{-1} B^T and Q span more than :data:`BADLY_SCALED` (the message names them).
        """
        return self._solve_dare()[0]

    def optimal_cost(self) -> float:
        """C(K*) = tr(P* Sigma0), with P* the stabilizing DARE solution."""
        return float(np.trace(self._solve_dare()[1] @ self.Sigma0))
