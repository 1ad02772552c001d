"""The exceptions of ltijepa: a handful of classes, each carrying the offending data.

Every error the package raises derives from :class:`LtijepaError` and from the builtin a caller
would expect (``ValueError`` for a bad value, ``RuntimeError`` for a solver that failed), so both
``except LtijepaError`` and ``except ValueError`` work. The same fault raises the same class
everywhere, and the message names the offending value: ``name == value, must be ...`` or
``name: expected shape (n, m), found (p, q)``. The data travel as attributes too, so a caller
can act on them without parsing the message:

=========================  ==========================================  =========================
class                      raised when                                 attributes
=========================  ==========================================  =========================
:class:`ParameterError`    a scalar, option or name is out of range    ``name``, ``value``
:class:`ShapeError`        an array has the wrong shape                ``name``, ``expected``,
                                                                       ``found``
:class:`DataError`         an array's or dataset's values break a      ``name``, ``index``
                           required property (finite, symmetric,
                           definite, real, deterministic, ...)
:class:`NotStabilizingError`  a gain does not stabilize a system:      ``rho``, ``task_index``,
                           rho(A - B K) >= 1                           ``iteration``, ``round``,
                                                                       ``agent``, ``replica``
:class:`NotStabilizableError` no gain stabilizes the system(s)         ``eigenvalue``, ``rho``,
                                                                       ``status``
:class:`SolverError`       a numerical method did not reach a valid    ``status``, ``iterations``,
                           answer (solver status, no convergence, a    ``residual``, ``step``,
                           non-finite loss)                            ``term``
:class:`ClaimError`        a claim is recorded with bad arguments      ``claim_id``
:class:`BuildError`        the book cannot be built or published: a    ``notebook``, ``cell``
                           notebook failed or breaks the conventions,
                           the toc, project or lock is wrong
:class:`TheoremFailed`     a theorem claim does not hold               ``claim_id``
=========================  ==========================================  =========================
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LtijepaError",
    "ParameterError",
    "ShapeError",
    "DataError",
    "NotStabilizingError",
    "NotStabilizableError",
    "SolverError",
    "ClaimError",
    "TheoremFailed",
    "BuildError",
]


class LtijepaError(Exception):
    """Base class of every exception raised by ltijepa."""


class ParameterError(LtijepaError, ValueError):
    """A scalar, an option or a name is out of its range, or two options do not fit together.

    The message reads ``name == value, must be ...``.

    Attributes
    ----------
    name : str or None
        The parameter's name (``"samples"``, ``"profile"``, ``"CEMConfig.elites"``).
    value : Any
        The value given.
    """

    def __init__(self, message: str, *, name: str | None = None, value: Any = None):
        super().__init__(message)
        self.name = name
        self.value = value


class ShapeError(LtijepaError, ValueError):
    """An array has the wrong shape; the message gives the expected and the found shape.

    Attributes
    ----------
    name : str or None
        The array's name.
    expected, found : tuple or None
        The shapes (``None`` in ``expected`` matches any size).
    """

    def __init__(self, message: str, *, name: str | None = None, expected: tuple | None = None,
                 found: tuple | None = None):
        super().__init__(message)
        self.name = name
        self.expected = expected
        self.found = found


class DataError(LtijepaError, ValueError):
    """An array's or a dataset's values violate a required property.

    Non-finite or complex entries, an asymmetric or indefinite matrix, a dataset with two
    successors for one (observation, action), a labelling that is not well-trained.

    Attributes
    ----------
    name : str or None
        The array's or dataset's name.
    index : Any
        Where the offending value is (an index, a pair, a key), when there is one place.
    """

    def __init__(self, message: str, *, name: str | None = None, index: Any = None):
        super().__init__(message)
        self.name = name
        self.index = index


class NotStabilizingError(LtijepaError, ValueError):
    """A gain does not stabilize a system: rho(A - B K) >= 1.

    Attributes
    ----------
    rho : float
        The spectral radius of the closed-loop matrix ``A - B K`` (of the task named below).
    task_index : int or None
        Which task of a batch or collection, where there are several.
    iteration : int or None
        The iteration of a method (policy gradient) at which the gain left the stabilizing set.
    round, agent, replica : int or None
        Where in a federated run (FedLQR) it happened.
    """

    def __init__(self, message: str, *, rho: float, task_index: int | None = None,
                 iteration: int | None = None, round: int | None = None, agent: int | None = None,
                 replica: int | None = None):
        super().__init__(message)
        self.rho = float(rho)
        self.task_index = task_index
        self.iteration = iteration
        self.round = round
        self.agent = agent
        self.replica = replica


class NotStabilizableError(LtijepaError, ValueError):
    """No gain stabilizes the system, or no common gain was found for a collection.

    Attributes
    ----------
    eigenvalue : complex or None
        For one pair (A, B): the eigenvalue of ``A`` with ``|eigenvalue| >= 1`` that ``B``
        cannot move (PBH test).
    rho : float or None
        For a collection: the smallest ``max_i rho(A_i - B_i K)`` over the candidates tried.
    status : str or None
        The status of the common-Lyapunov LMI, where one was solved.
    """

    def __init__(self, message: str, *, eigenvalue: complex | None = None, rho: float | None = None,
                 status: str | None = None):
        super().__init__(message)
        self.eigenvalue = None if eigenvalue is None else complex(eigenvalue)
        self.rho = None if rho is None else float(rho)
        self.status = status


class SolverError(LtijepaError, RuntimeError):
    """A numerical method did not reach a valid answer.

    A conic solver's status other than optimal, an iteration that did not converge within its
    budget, a training loss that became NaN or infinite, a program that is not DPP.

    Attributes
    ----------
    status : str
        What went wrong, e.g. ``"infeasible"``, ``"not converged"``, ``"non-finite loss"``.
    iterations : int or None
        Iterations run before giving up.
    residual : float or None
        The residual (or error measure) reached.
    step : int or None
        The training step at which a loss became non-finite.
    term : str or None
        The loss term that did.
    """

    def __init__(self, message: str, *, status: str, iterations: int | None = None,
                 residual: float | None = None, step: int | None = None, term: str | None = None):
        super().__init__(message)
        self.status = str(status)
        self.iterations = iterations
        self.residual = residual
        self.step = step
        self.term = term


class ClaimError(LtijepaError, ValueError):
    """A claim was recorded with malformed arguments (unknown paper key, missing tolerance...).

    Attributes
    ----------
    claim_id : str or None
        The id of the claim, when it was given.
    """

    def __init__(self, message: str, *, claim_id: str | None = None):
        super().__init__(message)
        self.claim_id = claim_id


class TheoremFailed(LtijepaError, AssertionError):
    """A theorem claim does not hold: the math or the code is wrong. Fails the notebook.

    Attributes
    ----------
    claim_id : str or None
        The id of the claim that failed.
    """

    def __init__(self, message: str, *, claim_id: str | None = None):
        super().__init__(message)
        self.claim_id = claim_id


class BuildError(LtijepaError, RuntimeError):
    """The book cannot be built or published (``ltijepa book build`` exits 1 with the message).

    A notebook failed or timed out, a source notebook breaks the book's conventions, the table of
    contents and ``notebooks/`` disagree, the folder is not a book project, another build holds
    the lock, or Jupyter Book failed.

    Attributes
    ----------
    notebook : str or None
        The notebook concerned (its file name), when there is one.
    cell : int or None
        The number (1-based, as messages print it) of the source cell that failed, when known.
    """

    def __init__(self, message: str, *, notebook: str | None = None, cell: int | None = None):
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell
