"""The exceptions of ltijepa.

Every error the package raises on bad input derives from :class:`LtijepaError` and from the
builtin exception a caller would expect (``ValueError`` for a bad value, ...), so both
``except LtijepaError`` and ``except ValueError`` work. Messages name the offending value:
``name == value, must be ...`` or ``expected (n, m), found (p, q)``.
"""

__all__ = [
    "LtijepaError",
    "ShapeError",
    "ParameterError",
    "MatrixError",
    "NotStabilizingError",
    "NotStabilizableError",
    "NotDPPError",
    "SolverError",
    "ProfileError",
    "ClaimError",
    "TheoremFailed",
]


class LtijepaError(Exception):
    """Base class of every exception raised by ltijepa."""


class ShapeError(LtijepaError, ValueError):
    """An array has the wrong shape (the message gives the expected and the found shape)."""


class ParameterError(LtijepaError, ValueError):
    """A scalar parameter is out of its range: a step size, a radius, a number of samples.

    The message reads ``name == value, must be ...``.
    """


class MatrixError(LtijepaError, ValueError):
    """A matrix violates a required property: finite entries, symmetry, definiteness."""


class NotStabilizingError(LtijepaError, ValueError):
    """A gain does not stabilize a system: rho(A - B K) >= 1.

    Attributes
    ----------
    rho : float
        The spectral radius of the closed-loop matrix ``A - B K``.
    """

    def __init__(self, message: str, *, rho: float):
        super().__init__(message)
        self.rho = float(rho)


class NotStabilizableError(LtijepaError, ValueError):
    """No gain stabilizes the pair (A, B): an unstable mode is uncontrollable (PBH test).

    Attributes
    ----------
    eigenvalue : complex
        The eigenvalue of ``A`` with ``|eigenvalue| >= 1`` that ``B`` cannot move.
    """

    def __init__(self, message: str, *, eigenvalue: complex):
        super().__init__(message)
        self.eigenvalue = complex(eigenvalue)


class NotDPPError(LtijepaError, ValueError):
    """A cvxpy problem that should be parameterised (DPP) is not, so it would recompile."""


class SolverError(LtijepaError, RuntimeError):
    """A numerical solver did not reach an optimal (or accurate) solution.

    Attributes
    ----------
    status : str
        The solver's status string, e.g. ``"infeasible"``.
    """

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.status = str(status)


class ProfileError(LtijepaError, ValueError):
    """An unknown execution profile was asked for (known: ``"ci"``, ``"full"``)."""


class ClaimError(LtijepaError, ValueError):
    """A claim was recorded with malformed arguments (unknown paper key, missing tolerance...)."""


class TheoremFailed(LtijepaError, AssertionError):
    """A theorem claim does not hold: the math or the code is wrong. Fails the notebook."""
