"""Import arrows point down: web -> services -> billing -> accounts -> core, never back up."""

import ast
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "accounts", "billing", "services", "web"]  # each may import only those before it


def _imported_apps(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("apps.") and "." in name}


def _upward(names_in: Callable[[Path], set[str]], what: str) -> list[str]:
    """Each app module that names (per `names_in`) an app above its own layer."""
    return [
        f"{path.relative_to(ROOT)} {what} {name}"
        for index, layer in enumerate(LAYERS)
        for path in sorted((ROOT / "apps" / layer).rglob("*.py"))
        for name in names_in(path)
        if name in LAYERS[index + 1 :]
    ]


def test_no_app_imports_an_app_above_it():
    assert _upward(_imported_apps, "imports apps.") == []


def _url_namespaces(path: Path) -> set[str]:
    """Namespaces of URL names a module spells out, e.g. "web" for "web:pricing"."""
    name = re.compile(r"^([a-z_]+):[\w-]+$")
    return {
        match.group(1)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if (match := name.match(node.value))
    }


def test_no_app_names_the_urls_of_an_app_above_it():
    """billing redirects to the site's pages through settings.BILLING_PAGES instead."""
    assert _upward(_url_namespaces, "names a URL of") == []


def test_bench_modules_import_without_a_cycle():
    """run.py drives counts.py; what both need (the variants) lives in a module of its own."""
    bench = ROOT / "bench"
    imports = {
        path.stem: {
            name.split(".")[1]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module
            for name in (
                [node.module]
                if node.module != "bench"
                else [f"bench.{alias.name}" for alias in node.names]
            )
            if name.startswith("bench.")
        }
        for path in bench.glob("*.py")
    }

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            step == goal or (step not in seen and reaches(step, goal, seen | {step}))
            for step in imports.get(start, ())
        )

    assert [module for module in sorted(imports) if reaches(module, module)] == []
