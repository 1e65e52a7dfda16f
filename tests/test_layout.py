"""The layering rules of DESIGN.md §1, read from the code's own imports (ast), and the size limits.

Data flows one way: ingest -> services -> store -> services -> views -> render -> cogs. So the
core never depends on Discord, the store never on parsing, the cogs never on the database.
`test_the_checker_catches_a_service_importing_discord` shows the rules can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .helpers import ROOT

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
DISCORD_ALLOWED_IN_BOT = ("bot/client.py", "bot/demo.py", "bot/render/")

# (files the rule applies to, imported module prefixes they may not use, why)
RULES = [
    (("bot/store/", "bot/services/", "bot/ingest/"), ("discord",), "the core never imports discord"),
    (("bot/",), ("discord",), "in bot/, only client.py, demo.py and render/ import discord"),
    (("bot/store/",), ("bot.ingest", "bot.services", "bot.render"), "the store never imports parsing, services or rendering"),
    (("bot/ingest/",), ("bot.store", "bot.services", "bot.render", "sqlalchemy", "sqlmodel"), "parsers are pure"),
    (("bot/services/",), ("bot.render", "cogs"), "services never render"),
    (("cogs/",), ("sqlalchemy", "sqlmodel", "bot.store"), "cogs call services, never the database"),
]


def imports(tree: ast.AST, module: str) -> set[str]:
    """Every module a file imports, anywhere in it (also inside functions), relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _uses(imported: set[str], prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in imported)


def violations(root: Path) -> list[str]:
    """Every broken layering rule and size limit under root's bot/ and cogs/, as readable lines."""
    problems: list[str] = []
    for path in sorted([*root.glob("bot/**/*.py"), *root.glob("cogs/**/*.py")]):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("bot/migrations/"):
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=relative)
        module = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        imported = imports(tree, module)
        for places, banned, why in RULES:
            if not relative.startswith(places):
                continue
            if banned == ("discord",) and places == ("bot/",) and relative.startswith(DISCORD_ALLOWED_IN_BOT):
                continue
            for prefix in banned:
                if _uses(imported, prefix):
                    problems.append(f"{relative} imports {prefix}: {why}")
        lines = source.count("\n") + 1
        if lines > MAX_FILE_LINES:
            problems.append(f"{relative} has {lines} lines (limit {MAX_FILE_LINES})")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{relative}:{node.lineno} {node.name}() has {length} lines (limit {MAX_FUNCTION_LINES})")
    return problems


def test_the_tree_keeps_the_layering_rules_and_limits():
    assert violations(ROOT) == []


def test_the_checker_catches_a_service_importing_discord(tmp_path):
    """The rules can fail: a copy of a real service with `import discord.utils` added is reported."""
    service = (ROOT / "bot" / "services" / "posts.py").read_text(encoding="utf-8")
    (tmp_path / "bot" / "services").mkdir(parents=True)
    (tmp_path / "bot" / "services" / "posts.py").write_text("import discord.utils\n" + service, encoding="utf-8")
    (tmp_path / "cogs").mkdir()
    (tmp_path / "cogs" / "posts.py").write_text("def f():\n    from sqlalchemy import select\n", encoding="utf-8")
    (tmp_path / "bot" / "store").mkdir()
    (tmp_path / "bot" / "store" / "posts.py").write_text("from ..ingest.posts import ParsedPost\n", encoding="utf-8")
    assert violations(tmp_path) == [
        "bot/services/posts.py imports discord: the core never imports discord",
        "bot/services/posts.py imports discord: in bot/, only client.py, demo.py and render/ import discord",
        "bot/store/posts.py imports bot.ingest: the store never imports parsing, services or rendering",
        "cogs/posts.py imports sqlalchemy: cogs call services, never the database",
    ]


def test_the_checker_catches_long_files_and_functions(tmp_path):
    (tmp_path / "bot").mkdir()
    body = "\n".join(f"    x = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "bot" / "long.py").write_text(f"def long():\n{body}\n" + "\n" * MAX_FILE_LINES, encoding="utf-8")
    assert violations(tmp_path) == [
        f"bot/long.py has {MAX_FUNCTION_LINES + MAX_FILE_LINES + 2} lines (limit {MAX_FILE_LINES})",
        f"bot/long.py:1 long() has {MAX_FUNCTION_LINES + 1} lines (limit {MAX_FUNCTION_LINES})",
    ]
