"""Import arrows point down: web -> billing -> accounts -> core, never back up."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "accounts", "billing", "web"]  # each may import only those before it


def _imported_apps(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("apps.") and "." in name}


def test_no_app_imports_an_app_above_it():
    upward = [
        f"{path.relative_to(ROOT)} imports apps.{imported}"
        for index, layer in enumerate(LAYERS)
        for path in sorted((ROOT / "apps" / layer).rglob("*.py"))
        for imported in _imported_apps(path)
        if imported in LAYERS[index + 1 :]
    ]

    assert upward == []
