"""The services speak the domain: no service function takes a camelCase argument, and no service
module reads or writes a camelCase key. The API modules alone map the wire format (camelCase,
Payload's shapes) to the values the services take."""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("orders", "fulfillment", "returns", "events", "shop")
CAMEL = re.compile(r"^[a-z]+[A-Z]")


def service_modules() -> list[str]:
    """Every ``services.py`` and every module of a ``services`` package of the apps."""
    paths = []
    for app in APPS:
        paths += (ROOT / app).glob("services.py")
        paths += (ROOT / app / "services").glob("*.py")
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in paths
    )


MODULES = service_modules()


def test_every_app_with_services_is_checked():
    assert {"orders.services.checkout", "fulfillment.services", "returns.services"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_no_service_function_takes_a_camel_case_argument(name):
    module = importlib.import_module(name)
    found = [
        f"{function.__qualname__}({parameter})"
        for function in vars(module).values()
        if inspect.isfunction(function) and function.__module__ == name
        for parameter in inspect.signature(function).parameters
        if CAMEL.match(parameter)
    ]
    assert found == []


def camel_case_keys(source: str) -> list[str]:
    """``line: key`` for each camelCase string used as a dict key, a subscript or a ``.get``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        keys = []
        if isinstance(node, ast.Dict):
            keys = node.keys
        elif isinstance(node, ast.Subscript):
            keys = [node.slice]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
        ):
            keys = [node.args[0]]
        found += [
            f"{key.lineno}: {key.value}"
            for key in keys
            if isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and CAMEL.match(key.value)
        ]
    return found


@pytest.mark.parametrize("name", MODULES)
def test_no_service_module_reads_or_writes_a_camel_case_key(name):
    source = inspect.getsource(importlib.import_module(name))
    assert camel_case_keys(source) == []


def test_the_check_finds_camel_case_keys():
    """The scan is not blind: each way a wire key creeps in is caught."""
    source = 'a = {"orderItem": 1}\nb = raw["unitPrice"]\nc = raw.get("postalCode")\nd = {"ok": 1}'
    assert camel_case_keys(source) == ["1: orderItem", "2: unitPrice", "3: postalCode"]


# ---------------------------------------------------------------------------------------------
# No import hides inside a function to dodge a cycle: the apps import each other at the top, in
# the one direction lint-imports checks. Two places import late by Django's rule, not to dodge a
# cycle: an AppConfig's ``ready`` (models and services load after the app registry) and the
# database router (loaded with the settings, before any app).

PACKAGES = ("orders", "fulfillment", "returns", "events", "shop", "staff")
LATE_BY_RULE = {("shop/db_routing.py", "callers_of")}


def late_imports(source: str, path: str) -> list[str]:
    """``path:line function imports module`` for each import of a project module in a body."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if function.name == "ready" and path.endswith("apps.py"):
            continue
        if (path, function.name) in LATE_BY_RULE:
            continue
        for node in ast.walk(function):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found += [
                f"{path}:{node.lineno} {function.name} imports {name}"
                for name in names
                if name.split(".")[0] in PACKAGES
            ]
    return found


def test_no_project_module_is_imported_inside_a_function():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or "/management/" in relative:
                continue
            found += late_imports(path.read_text(), relative)
    assert found == []


def test_the_late_import_check_finds_one():
    source = "def f():\n    from orders.models import Order\n    import json\n"
    assert late_imports(source, "x.py") == ["x.py:2 f imports orders.models"]
