"""Every module of ltijepa has a docstring, and every public function documents its parameters.

Public means listed in the module's ``__all__``. A parameter counts as documented when its
name appears as a word in the docstring (numpydoc ``Parameters`` section or the prose). The ``forward``
of a torch module needs a docstring (its shapes) but its input is the class's to describe.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import ltijepa

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(ltijepa.__path__, "ltijepa.") if not info.name.endswith("__main__")
)


def public_callables(module):
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield name, obj
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            yield name, obj
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and not attr.startswith("_"):
                    yield f"{name}.{attr}", member


def undocumented_parameters(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    target = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and target is object.__init__:
        return []
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return []
    skip = {"self", "cls"} | ({"message"} if inspect.isclass(obj) and issubclass(obj, BaseException) else set())
    return [
        p.name for p in parameters
        if p.name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and not re.search(rf"(?<![A-Za-z0-9_]){re.escape(p.name)}(?![A-Za-z0-9_])", doc)
    ]


@pytest.mark.parametrize("module_name", MODULES)
def test_module_and_public_callables_are_documented(module_name):
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    problems = []
    for name, obj in public_callables(module):
        if not (inspect.getdoc(obj) or "").strip():
            problems.append(f"{name}: no docstring")
        elif (inspect.isclass(obj) and dataclass_like(obj)) or name.endswith(".forward"):
            continue
        else:
            missing = undocumented_parameters(obj)
            if missing:
                problems.append(f"{name}: parameters not documented: {missing}")
    assert not problems, f"{module_name}:\n  " + "\n  ".join(problems)


def dataclass_like(cls) -> bool:
    """Dataclasses document their fields in the class docstring's Attributes or per field."""
    return hasattr(cls, "__dataclass_fields__")
