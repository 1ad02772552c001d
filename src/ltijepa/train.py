"""The one training loop of every latent world model (the P-JEPA chapter's and the planning chapter's).

A model exposes ``loss_terms(batch) -> dict[str, Tensor]``, its named scalar losses with the
minimised one under ``"total"`` (:class:`LossModel`); the data expose
``sample(batch_size, generator) -> batch`` (:class:`BatchSource`). One step is

.. math::

    \\theta \\leftarrow \\operatorname{opt}\\Big(\\theta,\\;
        \\operatorname{clip}_{g}\\big(\\nabla_\\theta \\mathcal L_{\\text{total}}(\\theta; B_t)\\big)\\Big),
    \\qquad B_t \\sim \\text{data (uniform, from the generator)},

with the gradient's global norm clipped at ``grad_clip`` when one is given. The caller builds
the optimiser (each model keeps its own: Adam with a scaled encoder rate for P-JEPA, AdamW for
the planning models) and the ``torch.Generator``, the loop's only source of randomness, so a
run is a function of the initial weights, the data and the generator's seed.

Every term of every step is logged on the device (no host synchronisation per step) and copied
to the host once, at the end. The log is checked for NaN and infinities every ``check_every``
steps, before each evaluation and after the last step: the first non-finite value raises
:class:`~ltijepa.errors.SolverError` naming the term and the step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from ltijepa.checks import check_count, check_generator, check_positive
from ltijepa.errors import ParameterError, SolverError

__all__ = ["LossModel", "BatchSource", "RESERVED_KEYS", "train"]

#: Keys of the dict :func:`train` returns besides the loss terms (no term may be named so).
RESERVED_KEYS = ("eval_step", "eval", "best_step", "best_state", "seconds", "steps_per_second")


class LossModel(Protocol):
    """A ``torch.nn.Module`` that names its training losses."""

    def loss_terms(self, batch: Any) -> dict[str, torch.Tensor]:
        """Scalar losses of ``batch`` by name, ``"total"`` (the minimised one) among them."""


class BatchSource(Protocol):
    """Training data that draw a batch from a ``torch.Generator``."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Any:
        """``batch_size`` transitions drawn with ``generator`` (the batch ``loss_terms`` takes)."""


def _check_finite(history: torch.Tensor, names: list[str], start: int, stop: int) -> None:
    """Raise :class:`SolverError` at the first non-finite entry of steps ``start + 1 .. stop``."""
    bad = ~torch.isfinite(history[start:stop])
    if bool(bad.any()):
        row, column = (int(i) for i in bad.nonzero()[0])
        step, term = start + row + 1, names[column]
        raise SolverError(
            f"loss term {term!r} == {float(history[start + row, column])} at step {step}: training diverged",
            status="non-finite loss", step=step, term=term,
        )


def _term_names(terms: dict[str, torch.Tensor]) -> list[str]:
    """The names of the loss terms, checked: ``"total"`` among them, none a key of the log."""
    names = list(terms)
    clash = sorted(set(names) & set(RESERVED_KEYS))
    if "total" not in names or clash:
        raise ParameterError(f"loss terms {names} must include 'total' and none of {RESERVED_KEYS}",
                             name="loss_terms", value=names)
    return names


def train(
    model: torch.nn.Module,
    data: BatchSource,
    optimizer: torch.optim.Optimizer,
    *,
    steps: int,
    batch_size: int,
    generator: torch.Generator,
    grad_clip: float | None = None,
    evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    best_by: str | None = None,
    check_every: int = 1_000,
    progress: bool = True,
    desc: str | None = None,
) -> dict:
    """Minimise ``model.loss_terms(batch)["total"]`` over ``steps`` batches; return the log.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`LossModel`, trained in place and left in training mode.
    data : BatchSource
        ``data.sample(batch_size, generator)`` gives the batch of a step.
    optimizer : torch.optim.Optimizer
        Built by the caller on ``model``'s parameters.
    steps, batch_size : int
        Gradient steps and transitions per step.
    generator : torch.Generator
        The only source of randomness (the batches), on the device ``data`` samples on.
    grad_clip : float, optional
        Clip the global gradient norm of ``model.parameters()`` to this value before each step.
    evaluate : callable, optional
        ``evaluate(model) -> {name: float}``, called under ``torch.no_grad`` in eval mode at
        step 0, every ``eval_every`` steps and after the last step.
    eval_every : int, optional
        Steps between two evaluations (without it: step 0 and the last step only).
    best_by : str, optional
        An entry of ``evaluate``'s dict: keep a CPU copy of the weights where it is largest.
    check_every : int, default 1000
        Steps between two checks of the log for non-finite values (one host synchronisation).
    progress : bool
        Show a tqdm bar.
    desc : str, optional
        Label of the bar.

    Returns
    -------
    dict
        One numpy array ``(steps,)`` per loss term (in the order of ``loss_terms``), the raw
        value of every step; ``eval_step`` (array of the evaluation steps) and ``eval``
        (``{name: array}``); ``best_step`` and ``best_state`` (``None`` without ``best_by``);
        ``seconds`` and ``steps_per_second`` of the loop.

    Raises
    ------
    ParameterError
        If ``generator`` is not a ``torch.Generator``, a size is not a positive integer, ``best_by`` is given without ``evaluate`` or names
        no entry of its dict, or a loss term has no ``"total"`` or is named like a key of
        :data:`RESERVED_KEYS`.
    SolverError
        If a loss term becomes NaN or infinite (``step`` and ``term`` name the first one).
    """
    check_count("steps", steps)
    check_count("batch_size", batch_size)
    check_count("check_every", check_every)
    check_generator(generator)
    if eval_every is not None:
        check_count("eval_every", eval_every)
    if grad_clip is not None:
        check_positive("grad_clip", grad_clip)
    if best_by is not None and evaluate is None:
        raise ParameterError(f"best_by == {best_by!r} needs an evaluate callback", name="best_by", value=best_by)
    params = list(model.parameters())
    names: list[str] = []
    history = torch.empty(0)  # (steps, terms) on the terms' device, allocated at step 1
    evals: dict[str, list[float]] = {}
    eval_steps: list[int] = []
    best: dict[str, Any] = {"value": -np.inf, "step": None, "state": None}
    checked = 0  # steps of the history checked for non-finite values

    def check(stop: int) -> None:
        nonlocal checked
        if stop > checked:
            _check_finite(history, names, checked, stop)
            checked = stop

    def run_eval(step: int) -> None:
        check(step)
        model.eval()
        with torch.no_grad():
            values = evaluate(model)
        model.train()
        if best_by is not None and best_by not in values:
            raise ParameterError(f"best_by == {best_by!r} is not an entry of evaluate's {sorted(values)}",
                                 name="best_by", value=best_by)
        eval_steps.append(step)
        for name, value in values.items():
            evals.setdefault(name, []).append(float(value))
        if best_by is not None and values[best_by] > best["value"]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best.update(value=float(values[best_by]), step=step, state=state)
        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)

    model.train()
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, mininterval=30.0, ascii=True)
    if evaluate is not None:
        run_eval(0)
    for step in bar:
        terms = model.loss_terms(data.sample(batch_size, generator))
        if step == 1:
            names = _term_names(terms)
            history = torch.empty(steps, len(names), dtype=terms["total"].dtype, device=terms["total"].device)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        history[step - 1] = torch.stack([terms[name] for name in names]).detach()
        if step % check_every == 0:
            check(step)
        if evaluate is not None and ((eval_every is not None and step % eval_every == 0) or step == steps):
            run_eval(step)
    seconds = time.perf_counter() - start
    bar.close()
    check(steps)

    values = history.cpu().numpy()
    info: dict[str, Any] = {name: values[:, i] for i, name in enumerate(names)}
    info.update(
        eval_step=np.array(eval_steps),
        eval={name: np.array(v) for name, v in evals.items()},
        best_step=best["step"],
        best_state=best["state"],
        seconds=seconds,
        steps_per_second=steps / seconds,
    )
    return info
