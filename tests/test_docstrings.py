"""Every module of ltijepa has a docstring, and every public function documents its parameters.

Public means listed in the module's ``__all__``. A parameter counts as documented when its
name appears as a word in the docstring (numpydoc ``Parameters`` section or the prose), or in
the docstring of the object a line ``As in :func:`ltijepa.x.f`.`` (or ``:class:``, ``:meth:``)
refers to, so that a shared parameter list is written once. The ``forward``
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


AS_IN = re.compile(r"As in :(?:func|class|meth):`~?([\w.]+)`")


def resolve(dotted: str):
    """The object ``ltijepa.a.b.name`` (or ``ltijepa.a.Class.method``) names."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def documentation(obj) -> str:
    """The docstring of ``obj`` and of every object its ``As in`` lines refer to."""
    doc = inspect.getdoc(obj) or ""
    return doc + "".join("\n" + documentation(resolve(ref)) for ref in AS_IN.findall(doc))


def test_as_in_references_resolve_to_documented_objects():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, obj in public_callables(module):
            for ref in AS_IN.findall(inspect.getdoc(obj) or ""):
                assert (inspect.getdoc(resolve(ref)) or "").strip(), f"{module_name}.{name}: 'As in {ref}' has no docstring"


def undocumented_parameters(obj) -> list[str]:
    doc = documentation(obj)
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
