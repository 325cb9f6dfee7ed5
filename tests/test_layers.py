"""The package's layers point one way and no modules import each other in a circle.

The import graph is built from the source with an AST walk (every ``import``,
including those inside functions: a lazy import is still a dependency).
Layers, from the top::

    __main__ -> cli -> demo | datasets | monitor -> mapping -> engines -> export
        -> renewal | leads
        -> registry | evaluation -> protocol -> persist -> survival | simulator -> io
        -> schema -> tobmodel (the package __init__) -> _version | paths | style | trees

A module may import its own package and any layer below its own; modules in
the same layer but different packages (``renewal`` and ``leads``) may not
import each other. The simulator sits beside the models: it reads and writes
tables (io, schema) and knows nothing of the models.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tobmodel"

LAYERS = [
    ("tobmodel.__main__",),
    ("tobmodel.cli",),
    ("tobmodel.demo", "tobmodel.datasets", "tobmodel.monitor"),
    ("tobmodel.mapping",),  # your own exports: reads them, then runs the export layer's jobs
    ("tobmodel.engines",),  # DuckDB / Spark SQL: the mapping layer's events run on it
    ("tobmodel.export",),
    ("tobmodel.renewal", "tobmodel.leads"),
    ("tobmodel.registry", "tobmodel.evaluation"),
    ("tobmodel.protocol",),
    ("tobmodel.persist",),
    ("tobmodel.survival", "tobmodel.simulator"),
    ("tobmodel.io",),
    ("tobmodel.schema",),
    ("tobmodel",),  # the package's __init__ only (its lazy names are strings)
    # plain-array boosted trees (code-free reading of LightGBM models), for leads and renewal
    ("tobmodel._version", "tobmodel.paths", "tobmodel.style", "tobmodel.trees"),
]


def modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def import_graph(missing: list | None = None) -> dict[str, set[str]]:
    """Module -> the tobmodel modules it imports (anywhere in its source).

    ``missing`` collects ``(module, target)`` of imports of tobmodel modules that do
    not exist (a rename left behind in a lazy import fails only when it runs).
    """
    mods = modules()
    graph = {name: set() for name in mods}
    for name, (path, is_pkg) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
                if missing is not None:
                    missing += [(name, t) for t in targets
                                if t.split(".")[0] == "tobmodel" and t not in mods]
            elif isinstance(node, ast.ImportFrom):
                base = (".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".")
                        if node.level else node.module)
                if missing is not None and base.split(".")[0] == "tobmodel" and base not in mods:
                    missing.append((name, base))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                # ``from . import x`` needs only the submodule x; ``from .m import f`` needs m
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            else:
                continue
            for t in targets:
                while t not in mods and "." in t:  # ``import tobmodel.x.y`` of a name
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, the layer entry the module belongs to), longest prefix first."""
    best = None
    for i, entries in enumerate(LAYERS):
        for e in entries:
            inside = module == e or (e != "tobmodel" and module.startswith(e + "."))
            if inside and (best is None or
                                                                 len(e) > len(best[1])):
                best = (i, e)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_graph_sees_the_imports_it_should():
    g = import_graph()
    assert "tobmodel.export.runner" in g["tobmodel.cli.commands"] or \
        "tobmodel.export" in g["tobmodel.cli.commands"]
    assert "tobmodel.registry" in g["tobmodel.export.inputs"]  # a lazy import counts
    assert "tobmodel.renewal.base" in g["tobmodel.renewal.cox"]


def test_no_import_of_a_module_that_does_not_exist():
    missing = []
    import_graph(missing)
    assert missing == [], "imports of missing modules: " + "; ".join(
        f"{a} imports {b}" for a, b in missing)


def test_no_import_cycles():
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_upward_or_sideways_imports():
    bad = []
    for a, targets in import_graph().items():
        (la, ea) = layer_of(a)
        for b in targets:
            (lb, eb) = layer_of(b)
            if ea == eb:
                continue  # inside one package or module
            if lb <= la:
                bad.append(f"{a} -> {b} ({'sideways' if la == lb else 'upward'})")
    assert bad == [], "imports against the layers: " + "; ".join(sorted(bad))


def test_a_planted_cycle_and_upward_import_are_caught():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    assert layer_of("tobmodel.io.readers")[0] > layer_of("tobmodel.export.runner")[0]
    assert layer_of("tobmodel.renewal.cox")[0] == layer_of("tobmodel.leads.engine")[0]
