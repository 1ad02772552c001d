"""Task families used across the book, with the talk's parameter laws.

- :func:`pendulum` / :func:`sample_pendulums`: the inverted pendulum of the talk's slide
  "Observation" (Stamouli et al. 2025, Example 1);
- :func:`unicycle` / :func:`sample_unicycles`: the kinematic unicycle linearised at
  (v0, theta0), slide "Unicycle" (Stamouli et al. 2025, Fig. 3);
- :func:`scalar_pair`: x_{t+1} = +-alpha x_t + u_t, slide "Heterogeneity Bound is Necessary";
- :func:`random_stabilizable`: random stabilizable systems for property tests and
  random collections.

Discretisation: the talk's pendulum matrices are the forward-Euler discretisation of the
linearised pendulum theta'' = (g / l) theta + u / (m l^2) with step dt; the slides do not fix
dt. We use dt = 0.05, the step of the talk's unicycle and of the pendulum in the authors'
multitask LQG code (their public repository), and g = 9.81. Both families default to Sigma0 = I
(not stated in the slides either).
"""

from __future__ import annotations

import numpy as np

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import NotStabilizableError, ParameterError
from ltijepa.lqr.task import Task

__all__ = [
    "PENDULUM_DT",
    "UNICYCLE_DT",
    "GRAVITY",
    "pendulum",
    "sample_pendulums",
    "unicycle",
    "sample_unicycles",
    "scalar_pair",
    "random_stabilizable",
]

PENDULUM_DT = 0.05
UNICYCLE_DT = 0.05
GRAVITY = 9.81

#: Talk's law: (l, m, q, r) ~ U([0.5, 1] x [0.1, 0.5] x [0.1, 0.5] x [0.01, 0.05]).
PENDULUM_LAW = ((0.5, 1.0), (0.1, 0.5), (0.1, 0.5), (0.01, 0.05))
#: Talk's law: (v0, theta0, q, r) ~ U([0.1, 1.75] x [0, pi/2] x [0.1, 0.5] x [0.01, 0.05]).
UNICYCLE_LAW = ((0.1, 1.75), (0.0, np.pi / 2), (0.1, 0.5), (0.01, 0.05))


def pendulum(l: float, m: float, q: float, r: float, *, dt: float = PENDULUM_DT, g: float = GRAVITY) -> Task:
    """The inverted pendulum linearised at the upright position (talk, slide "Observation").

    .. math::

        x_{t+1} = \\begin{bmatrix} 1 & dt \\\\ (g/l)\\,dt & 1 \\end{bmatrix} x_t
                + \\begin{bmatrix} 0 \\\\ dt / (m l^2) \\end{bmatrix} u_t,
        \\qquad Q = q I_2, \\quad R = r,

    with x = (angle, angular velocity) and u the torque.

    Parameters
    ----------
    l, m : float
        Length and mass, > 0.
    q, r : float
        State and input weights, > 0.
    dt : float
        Euler step (default 0.05, see the module docstring).
    g : float
        Gravity (default 9.81).

    Raises
    ------
    ParameterError
        If a parameter is not a finite number > 0.

    Examples
    --------
    >>> pendulum(1.0, 1.0, 1.0, 0.1).A
    array([[1.    , 0.05  ],
           [0.4905, 1.    ]])
    """
    l, m, q, r, dt = (check_positive(k, v) for k, v in (("l", l), ("m", m), ("q", q), ("r", r), ("dt", dt)))
    g = check_positive("g", g)
    A = np.array([[1.0, dt], [g / l * dt, 1.0]])
    B = np.array([[0.0], [dt / (m * l**2)]])
    return Task(A, B, q * np.eye(2), [[r]])


def _draw(law, M: int, rng) -> np.ndarray:
    M = check_count("M", M)
    rng = np.random.default_rng(rng)
    lows, highs = np.array(law).T
    return rng.uniform(lows, highs, size=(M, len(law)))


def sample_pendulums(M: int, rng=None, *, dt: float = PENDULUM_DT) -> list[Task]:
    """M pendulums with (l, m, q, r) drawn from the talk's law :data:`PENDULUM_LAW`.

    ``rng`` (a seed or a Generator) draws the parameters; ``dt`` is the Euler step.

    Raises
    ------
    ParameterError
        If M is not an integer >= 1.
    """
    return [pendulum(l, m, q, r, dt=dt) for l, m, q, r in _draw(PENDULUM_LAW, M, rng)]


def unicycle(v0: float, theta0: float, q: float, r: float, *, dt: float = UNICYCLE_DT) -> Task:
    """The kinematic unicycle linearised at speed v0 and heading theta0 (talk, "Unicycle").

    .. math::

        A = \\begin{bmatrix} 1 & 0 & -dt\\, v_0 \\sin\\theta_0 \\\\
                             0 & 1 & dt\\, v_0 \\cos\\theta_0 \\\\ 0 & 0 & 1 \\end{bmatrix},
        \\quad
        B = \\begin{bmatrix} dt \\cos\\theta_0 & 0 \\\\ dt \\sin\\theta_0 & 0 \\\\ 0 & dt \\end{bmatrix},
        \\quad Q = q I_3, \\quad R = r I_2,

    with x = (p_x, p_y, theta) and u = (v, omega) (deviations from the linearisation point).

    Raises
    ------
    ParameterError
        If q, r or dt is not a finite number > 0, or v0, theta0 is not finite.
    """
    q, r, dt = (check_positive(k, v) for k, v in (("q", q), ("r", r), ("dt", dt)))
    for name, value in (("v0", v0), ("theta0", theta0)):
        if not np.isfinite(value):
            raise ParameterError(f"{name} == {value!r}, must be finite")
    s, c = np.sin(theta0), np.cos(theta0)
    A = np.array([[1.0, 0.0, -dt * v0 * s], [0.0, 1.0, dt * v0 * c], [0.0, 0.0, 1.0]])
    B = np.array([[dt * c, 0.0], [dt * s, 0.0], [0.0, dt]])
    return Task(A, B, q * np.eye(3), r * np.eye(2))


def sample_unicycles(M: int, rng=None, *, dt: float = UNICYCLE_DT) -> list[Task]:
    """M unicycles with (v0, theta0, q, r) drawn from the talk's law :data:`UNICYCLE_LAW`.

    ``rng``, ``dt`` and the errors as in :func:`ltijepa.lqr.families.sample_pendulums`.
    """
    return [unicycle(v0, th, q, r, dt=dt) for v0, th, q, r in _draw(UNICYCLE_LAW, M, rng)]


def scalar_pair(alpha: float, *, q: float = 1.0, r: float = 1.0) -> tuple[Task, Task]:
    """The pair x_{t+1} = alpha x_t + u_t and x_{t+1} = -alpha x_t + u_t (talk's scalar example).

    Both with the weights Q = q and R = r.

    With u = -K x the closed loops are alpha - K and -alpha - K: for alpha > 1 no K makes both
    |alpha - K| < 1 and |alpha + K| < 1.
    """
    return Task([[alpha]], [[1.0]], [[q]], [[r]]), Task([[-alpha]], [[1.0]], [[q]], [[r]])


def random_stabilizable(n: int, m: int, rng=None, *, spectral_radius: float = 1.2) -> Task:
    """A random task with A of spectral radius ``spectral_radius`` (open-loop unstable when > 1).

    A = spectral_radius * G / rho(G) for a standard Gaussian G; B, and the factors of
    Q = F F^T + I/10 and R = H H^T + I/10, are standard Gaussian. A Gaussian B makes (A, B)
    controllable with probability one; draws that are numerically not stabilizable are redrawn.
    ``rng`` (a seed or a Generator) draws everything.

    Raises
    ------
    ParameterError
        If n or m is not an integer >= 1, or spectral_radius is not > 0.
    """
    n, m = check_count("n", n), check_count("m", m)
    spectral_radius = check_positive("spectral_radius", spectral_radius)
    rng = np.random.default_rng(rng)
    for _ in range(100):
        G = rng.standard_normal((n, n))
        A = spectral_radius * G / np.max(np.abs(np.linalg.eigvals(G)))
        F, H = rng.standard_normal((n, n)), rng.standard_normal((m, m))
        task = Task(A, rng.standard_normal((n, m)), F @ F.T + np.eye(n) / 10, H @ H.T + np.eye(m) / 10)
        if task.is_stabilizable():
            return task
    raise NotStabilizableError(f"no stabilizable draw in 100 tries for n == {n}, m == {m}")  # probability ~0
