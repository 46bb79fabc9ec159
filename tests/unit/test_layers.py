"""The layers, read from the source with `ast`: the service layer never imports an entry point
(imports run down, from the doors to the engine), and the engine's start-up (store, migrations,
vault, Temporal client) is built in engine.composition alone (DESIGN.md: one composition root).

Every import counts, also one inside a function: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("entrypoints", "worker")
SERVICE_LAYER = (
    "domain", "workflows", "activities", "store", "delivery", "security", "reports", "engine",
    "api",
)  # fmt: skip
# The one place each start-up step is written: a call of the name outside its home is a copy.
START_UP = {
    "make_engine": ("engine/composition.py",),
    "migrate": ("engine/composition.py",),
    "PersonalVault.of": ("engine/composition.py",),
    "Client.connect": ("engine/temporal.py",),
    "Settings": ("engine/composition.py",),
}
BUILT_BY = ("entrypoints", "engine", "api", "worker.py")  # where start-up code could hide


def modules(package: str) -> list[Path]:
    where = ROOT / package
    return sorted(where.rglob("*.py")) if where.is_dir() else [ROOT / f"{package}.py"]


def imported(path: Path) -> set[str]:
    """Every module `path` imports, by its full dotted name (`from a import b` counts a.b too:
    b may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_entry_point(name: str) -> bool:
    return any(name == e or name.startswith(f"{e}.") for e in ENTRY_POINTS)


def calls(path: Path) -> set[str]:
    """The callees of `path`'s calls, as written: `f(...)` is "f", `a.f(...)` is "a.f"."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            callee = node.func
            if isinstance(callee, ast.Name):
                found.add(callee.id)
            elif isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name):
                found.add(f"{callee.value.id}.{callee.attr}")
    return found


def test_the_entry_points_are_where_the_rules_look():
    # So the rules below cannot pass by looking at nothing.
    assert (ROOT / "entrypoints" / "cli.py").is_file() and (ROOT / "worker.py").is_file()
    assert all(modules(package) for package in SERVICE_LAYER)


@pytest.mark.parametrize("package", SERVICE_LAYER)
def test_the_service_layer_imports_no_entry_point(package):
    upward = {
        str(path.relative_to(ROOT)): sorted(n for n in imported(path) if is_entry_point(n))
        for path in modules(package)
    }
    assert {path: names for path, names in upward.items() if names} == {}


def test_the_engine_imports_nothing_of_the_api():
    # The engine is what the API serves; the API is one of its doors, not a part of it.
    upward = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported(path) if n == "api" or n.startswith("api.")
        )
        for path in modules("engine")
    }
    assert {path: names for path, names in upward.items() if names} == {}


def test_start_up_is_built_in_one_place():
    copies = []
    for place in BUILT_BY:
        for path in modules(place.removesuffix(".py")):
            relative = str(path.relative_to(ROOT))
            for step in calls(path) & START_UP.keys():
                if relative not in START_UP[step]:
                    copies.append(f"{relative}: {step}")
    assert copies == []


def test_the_rules_see_an_upward_import_and_a_copy(tmp_path):
    # The readers above, on a module that breaks both rules.
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(settings):\n"
        "    from entrypoints.cli import main\n"
        "    from store import make_engine, migrate\n"
        "    migrate(make_engine(settings.store_url()))\n"
    )
    assert any(is_entry_point(name) for name in imported(bad))
    assert {"make_engine", "migrate"} <= calls(bad)
