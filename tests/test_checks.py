"""ltijepa.checks: the stability check's one message, and that every raise site uses it."""

import ast
import math
from pathlib import Path

import pytest

import ltijepa
from ltijepa.checks import check_stabilizing
from ltijepa.errors import NotStabilizingError

SRC = Path(ltijepa.__file__).parent


@pytest.mark.parametrize("rho, kwargs, message", [
    (1.5, {}, "K does not stabilize the task: rho(A - B K) == 1.5, must be < 1"),
    ([0.2, 1.0, 3.0], {"gain": "K0"}, "K0 does not stabilize task 1: rho(A_1 - B_1 K0) == 1, must be < 1"),
    (2.0, {"gain": "K +- U", "label": "task 4", "task_index": 4},
     "K +- U does not stabilize task 4: rho(A - B (K +- U)) == 2, must be < 1"),
    (1.25, {"iteration": 7, "advice": "take a smaller step"},
     "iteration 7: K does not stabilize the task: rho(A - B K) == 1.25, must be < 1 (take a smaller step)"),
    (1.25, {"label": "agent 2 (replica 1)", "round": 3, "agent": 2, "replica": 1},
     "round 3: K does not stabilize agent 2 (replica 1): rho(A - B K) == 1.25, must be < 1"),
])
def test_message_and_attributes(rho, kwargs, message):
    with pytest.raises(NotStabilizingError) as info:
        check_stabilizing(rho, **kwargs)
    assert str(info.value) == message
    for key in ("task_index", "iteration", "round", "agent", "replica"):
        expected = kwargs.get(key, 1 if key == "task_index" and isinstance(rho, list) else None)
        assert getattr(info.value, key) == expected


def test_nan_is_not_stabilizing_and_stable_radii_pass():
    check_stabilizing(0.999)
    check_stabilizing([0.0, 0.5])
    with pytest.raises(NotStabilizingError) as info:
        check_stabilizing(float("nan"))
    assert math.isnan(info.value.rho)


def test_no_module_writes_the_stability_message_by_hand():
    """Issue 12, item 5: every NotStabilizingError of the package comes from check_stabilizing."""
    hand_made = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name in ("checks.py", "errors.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "NotStabilizingError":
                hand_made.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not hand_made, f"NotStabilizingError built by hand (use ltijepa.checks.check_stabilizing): {hand_made}"
