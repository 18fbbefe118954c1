"""The house rules that a refactoring can silently break, checked on the source itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import graphkit

PACKAGE = Path(graphkit.__file__).parent
MODULES = {
    ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted(PACKAGE.rglob("*.py"))
}


#: PySpark's py4j handles (``SparkContext._jvm``, ``._jsc``, ``RDD._jrdd``, ``DataFrame._jdf``...)
PRIVATE_PYSPARK = re.compile(r"\._j(vm|sc|rdd\w*|df|sparkSession|conf|col|seq|map|write|reader|ctx)\b")


def _imports(name: str, path: Path) -> set[str]:
    """graphkit modules that ``name`` imports anywhere in its body (function-level included).
    ``from graphkit.x import y`` counts as importing ``graphkit.x.y`` when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_module_list_is_real():
    assert {"graphkit.cli", "graphkit.commands", "graphkit.graph", "graphkit.reader", "graphkit._jvm",
            "graphkit.ppr.job", "graphkit.embed.job", "graphkit.lsh.job"} <= set(MODULES)


def test_no_import_cycles():
    """Package ``__init__`` files re-export their submodules, so a submodule importing its own
    package's ``__init__`` is not counted; every other edge is, function-level imports included."""
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {t for t in _imports(name, path) if not name.startswith(t + ".")}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_job_modules_never_import_the_cli():
    for name, path in MODULES.items():
        if name.endswith(".job") or name.startswith("graphkit.jobs"):
            assert "graphkit.cli" not in _imports(name, path) or name.startswith("graphkit.jobs."), name


def test_private_pyspark_only_in_the_jvm_module():
    """``._jvm``, ``._jsc``, ``._jrdd``... are PySpark internals that change between releases:
    every use sits behind a named helper in graphkit/_jvm.py."""
    offenders = []
    for name, path in MODULES.items():
        if name == "graphkit._jvm":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if PRIVATE_PYSPARK.search(re.sub(r"graphkit\._jvm", "", code)):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not offenders, "private PySpark outside graphkit/_jvm.py:\n" + "\n".join(offenders)


def test_private_api_check_would_catch_a_use():
    for line in ("rdd._jrdd.count()", "sc._jvm.org.Foo", "sc._jsc.sc()", "df._jdf", "x._jrdd_deserializer"):
        assert PRIVATE_PYSPARK.search(line), line
    assert not PRIVATE_PYSPARK.search("self._join(best)")
