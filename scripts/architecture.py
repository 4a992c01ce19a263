"""The package's import graph: its layer check and its picture (pure Python, standard library).

Every module of ``clusteratlas`` is parsed with :mod:`ast`; every import counts, including the
ones inside functions and under ``if TYPE_CHECKING:`` (a lazy import is still a dependency) and
``importlib.import_module("clusteratlas....")`` with a constant name. Two rules hold
(docs/architecture.md says why):

1. **Layers.** Each module belongs to one layer group; a module imports only from its own layer
   or the layers below it::

       core -> data -> panel, theory -> resilience, causal, policy -> studies -> report -> web -> cli

   (``core`` = the top-level modules: errors, schema, store, atomic, tables, results, paths.)
2. **No cycles** between modules, whatever their layers.

Usage::

    python scripts/architecture.py --check            # exit 1 and name each offending import
    python scripts/architecture.py --svg docs/architecture.svg   # redraw the picture

``tests/test_architecture.py`` runs both (the committed SVG must be current).
"""

from __future__ import annotations

import argparse
import ast
import html
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "clusteratlas"

#: layer group -> rank; a module may import from groups of equal or lower rank only
LAYERS: dict[str, int] = {
    "core": 0,
    "data": 1,
    "panel": 2,
    "theory": 2,
    "resilience": 3,
    "causal": 3,
    "policy": 3,
    "studies": 4,
    "report": 5,
    "web": 6,
    "cli": 7,
}
#: layer names, bottom to top, for messages and the picture
LAYER_NAMES = (
    "core",
    "data",
    "panel, theory",
    "resilience, causal, policy",
    "studies",
    "report",
    "web",
    "cli",
)


@dataclass(frozen=True)
class Import:
    """One import statement: ``source`` (module) imports ``target`` (module) at ``path:line``."""

    source: str
    target: str
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Graph:
    """Modules of a package (name -> file) and the imports between them."""

    package: str
    modules: dict[str, Path]
    imports: list[Import] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # imports the checker cannot follow

    def edges(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.target != imp.source:
                out[imp.source].add(imp.target)
        return out


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted name lives in (``pkg.mod.func`` -> ``pkg.mod``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported_names(node: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    for alias in node.names:
        yield f"{prefix}.{alias.name}"  # a submodule if one exists, else a name in ``prefix``


def import_graph(package_dir: Path, display_root: Path | None = None) -> Graph:
    """Parse every ``*.py`` under ``package_dir`` (a package) into a :class:`Graph`."""
    package_dir = Path(package_dir).resolve()
    root = package_dir.parent
    display_root = Path(display_root).resolve() if display_root else root
    modules = {module_name(p, root): p for p in sorted(package_dir.rglob("*.py"))}
    graph = Graph(package_dir.name, modules)
    for module, path in modules.items():
        shown = (
            str(path.relative_to(display_root)) if path.is_relative_to(display_root) else str(path)
        )
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = list(_imported_names(node, module, path.name == "__init__.py"))
            elif isinstance(node, ast.Call) and _is_dynamic_import(node):
                argument = node.args[0] if node.args else None
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    names = [argument.value]
                else:
                    graph.problems.append(
                        f"{shown}:{node.lineno}: dynamic import the layer check cannot follow; "
                        "import the module by name"
                    )
            for name in names:
                if name.split(".")[0] != graph.package:
                    continue
                target = _resolve(name, modules)
                if target is None:
                    graph.problems.append(f"{shown}:{node.lineno}: imports unknown module {name}")
                    continue
                graph.imports.append(Import(module, target, shown, node.lineno))
    return graph


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "import_module":
        return True
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def layer_of(module: str, package: str = PACKAGE) -> str | None:
    """The layer group of a module: its first sub-package, or ``core`` for top-level modules."""
    parts = module.split(".")
    if parts[0] != package:
        return None
    if len(parts) == 1:
        return "core"
    if parts[1] in LAYERS:
        return parts[1]
    return "core" if len(parts) == 2 else None  # a top-level module, or a package nobody placed


def layer_violations(graph: Graph) -> list[str]:
    """Imports from a lower layer to a higher one, and modules in no known layer."""
    problems = []
    for module in graph.modules:
        if layer_of(module, graph.package) is None:
            problems.append(
                f"{module} belongs to no layer: add its package to LAYERS in scripts/architecture.py"
            )
    for imp in graph.imports:
        source, target = layer_of(imp.source, graph.package), layer_of(imp.target, graph.package)
        if source is None or target is None:
            continue
        if LAYERS[target] > LAYERS[source]:
            problems.append(
                f"{imp.where()}: {imp.source} imports {imp.target}, but {source} "
                f"(layer {LAYERS[source]}) must not import from {target} (layer {LAYERS[target]}, "
                "higher); move what it needs down or pass it in"
            )
    return problems


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as one cycle path."""
    edges = graph.edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:  # iterative, so deep graphs cannot hit the recursion limit
        nonlocal counter
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return [_one_cycle(group, edges) for group in sorted(groups)]


def _one_cycle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return group


def cycle_violations(graph: Graph) -> list[str]:
    where = {}
    for imp in graph.imports:
        where.setdefault((imp.source, imp.target), imp.where())
    problems = []
    for path in cycles(graph):
        steps = [f"{a} -> {b} ({where[a, b]})" for a, b in zip(path, path[1:], strict=False)]
        problems.append("import cycle: " + "; ".join(steps))
    return problems


def check(package_dir: Path = ROOT / PACKAGE, display_root: Path | None = ROOT) -> list[str]:
    """Every problem of the package's imports: layer breaches, cycles, unfollowable imports."""
    graph = import_graph(package_dir, display_root)
    return graph.problems + layer_violations(graph) + cycle_violations(graph)


# -- the picture ---------------------------------------------------------------------------------
def group_edges(graph: Graph) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """Layer groups with their modules, and which group imports which (self-edges left out)."""
    members: dict[str, list[str]] = {name: [] for name in LAYERS}
    for module in graph.modules:
        group = layer_of(module, graph.package)
        if group is not None:
            members[group].append(module)
    pairs = set()
    for imp in graph.imports:
        a, b = layer_of(imp.source, graph.package), layer_of(imp.target, graph.package)
        if a and b and a != b:
            pairs.add((a, b))
    return members, pairs


BAND_HEIGHT = 86
BOX_HEIGHT = 40
BOX_WIDTH = 120
WIDTH = 900
LEFT = 200  # room for the layer labels
#: one colour per importing package, so an arrow can be followed from where it starts
PALETTE = ("#1f77b4", "#e6a100", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#ff7f0e", "#7f7f7f", "#393b79")  # fmt: skip


def _layout(groups: list[str]) -> dict[str, tuple[float, float]]:
    """Box centres: one band per layer rank (cli on top), packages of a rank side by side."""
    ranks = sorted({LAYERS[g] for g in groups})
    top_rank = max(ranks)
    centre = {}
    for rank in ranks:
        row = [g for g in groups if LAYERS[g] == rank]
        y = 40 + (top_rank - rank) * BAND_HEIGHT + BAND_HEIGHT / 2
        span = (WIDTH - LEFT - 20) / len(row)
        for k, group in enumerate(row):
            centre[group] = (LEFT + span * (k + 0.5), y)
    return centre


def _ports(pairs: set[tuple[str, str]], centre: dict[str, tuple[float, float]]) -> dict:
    """Where each arrow leaves its source box (bottom edge) and enters its target (top edge),
    spread along the edge in the order of the other end, so arrows do not share a line."""
    ports: dict[tuple[str, str, str], float] = {}
    for group in centre:
        for end, mine, other in (("out", 0, 1), ("in", 1, 0)):
            mates = sorted(
                (p for p in pairs if p[mine] == group), key=lambda p: (centre[p[other]][0], p)
            )
            for k, pair in enumerate(mates):
                offset = (k + 1) / (len(mates) + 1) - 0.5
                ports[(end, *pair)] = centre[group][0] + offset * BOX_WIDTH * 0.85
    return ports


def _path(start: tuple[float, float], end: tuple[float, float], ranks: int, side: int) -> str:
    """A cubic curve from ``start`` down to ``end``; a long vertical arrow bows out to ``side``
    so it passes beside the boxes between, not through them."""
    (x1, y1), (x2, y2) = start, end
    if y1 == y2 + BOX_HEIGHT:  # same band: an arc above both boxes
        y1 = y2 = y2
        lift = 30 + abs(x2 - x1) / 8
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 - lift:.1f} {x2:.1f},{y2 - lift:.1f} {x2:.1f},{y2:.1f}"
    if ranks > 1 and abs(x2 - x1) < BOX_WIDTH:
        bow = side * (BOX_WIDTH * 0.75 + 14 * ranks)
        c1 = (x1 + bow, y1 + (y2 - y1) * 0.3)
        c2 = (x2 + bow, y2 - (y2 - y1) * 0.3)
    else:
        middle = (y1 + y2) / 2
        c1, c2 = (x1, middle), (x2, middle)
    return f"M{x1:.1f},{y1:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}"


def svg(graph: Graph) -> str:
    """The layers as horizontal bands (cli on top, core at the bottom), each package a box and
    an arrow for every pair of packages where one imports the other (red: against the layers).
    Drawn only from the package-level edges of the import graph, so it changes exactly when the
    architecture does, not when a module is added inside a package."""
    members, pairs = group_edges(graph)
    groups = [g for g in LAYERS if members[g]]
    centre = _layout(groups)
    ports = _ports(pairs, centre)
    ranks = sorted({LAYERS[g] for g in groups})
    top_rank = max(ranks)
    height = 40 + BAND_HEIGHT * (top_rank + 1) + 46
    colour = {g: PALETTE[k % len(PALETTE)] for k, g in enumerate(reversed(groups))}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="sans-serif" role="img" '
        'aria-label="clusteratlas layers and the imports between its packages">',
        "<defs>"
        + "".join(
            f"<marker id='arrow-{g}' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='6' "
            f"markerHeight='6' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
            f"fill='{colour[g]}'/></marker>"
            for g in groups
        )
        + "</defs>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{html.escape(graph.package)}: '
        "layers, bottom to top, and which package imports which</text>",
    ]
    for rank in ranks:
        y = 40 + (top_rank - rank) * BAND_HEIGHT
        fill = "#f3f5f7" if rank % 2 == 0 else "#ffffff"
        out.append(
            f'<rect x="0" y="{y}" width="{WIDTH}" height="{BAND_HEIGHT}" fill="{fill}"/>'
            f'<text x="10" y="{y + BAND_HEIGHT / 2 + 4:.0f}" font-size="12" fill="#555">'
            f"{rank}: {html.escape(LAYER_NAMES[rank])}</text>"
        )
    bows: dict[str, int] = {}
    for a, b in sorted(pairs, key=lambda p: (-LAYERS[p[0]], -LAYERS[p[1]], p)):
        start = (ports[("out", a, b)], centre[a][1] + BOX_HEIGHT / 2)
        end = (ports[("in", a, b)], centre[b][1] - BOX_HEIGHT / 2)
        if LAYERS[a] == LAYERS[b]:
            start = (ports[("out", a, b)], centre[a][1] - BOX_HEIGHT / 2)
        span = LAYERS[a] - LAYERS[b]
        side = 1
        if span > 1 and abs(end[0] - start[0]) < BOX_WIDTH:
            bows[a] = bows.get(a, 0) + 1
            side = -1 if bows[a] % 2 else 1
        bad = LAYERS[b] > LAYERS[a]
        stroke = "#c0392b" if bad else colour[a]
        out.append(
            f'<path d="{_path(start, end, span, side)}" fill="none" stroke="{stroke}" '
            f'stroke-width="{2.4 if bad else 1.2}" stroke-opacity="0.8" '
            f'marker-end="url(#arrow-{a})"><title>{a} imports {b}</title></path>'
        )
    for group in groups:
        x, y = centre[group]
        core = group == "core"
        detail = ", ".join(sorted(m.rpartition(".")[2] for m in members[group] if "." in m))
        width = BOX_WIDTH + (190 if core else 0)
        out.append(
            f'<g><rect x="{x - width / 2:.1f}" y="{y - BOX_HEIGHT / 2:.1f}" width="{width}" '
            f'height="{BOX_HEIGHT}" rx="6" fill="#e4edf6" stroke="{colour[group]}" '
            f'stroke-width="1.6"/><text x="{x:.1f}" y="{y - (4 if core else -5):.1f}" '
            f'font-size="14" text-anchor="middle" font-weight="bold">'
            f"{html.escape('core' if core else group + '/')}</text>"
            + (
                f'<text x="{x:.1f}" y="{y + 12:.1f}" font-size="10" text-anchor="middle">'
                f"{html.escape(detail)}</text>"
                if core
                else ""
            )
            + "</g>"
        )
    out.append(
        f'<text x="10" y="{height - 24}" font-size="11" fill="#555">An arrow A -&gt; B: a module '
        "of A imports a module of B (anywhere in it, also inside functions); red: an import "
        f'against the layers.</text><text x="10" y="{height - 9}" font-size="11" fill="#555">'
        "Drawn by scripts/architecture.py from the import graph; tests/test_architecture.py "
        "checks it is current.</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check layers and cycles")
    parser.add_argument("--svg", type=Path, help="write the package picture to this file")
    parser.add_argument("--package", type=Path, default=ROOT / PACKAGE, help="package folder")
    args = parser.parse_args(argv)
    if not (args.check or args.svg):
        parser.error("give --check and/or --svg FILE")
    status = 0
    if args.check:
        problems = check(args.package)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "imports follow the layers, no cycles")
        status = 1 if problems else 0
    if args.svg:
        args.svg.write_text(svg(import_graph(args.package)), encoding="utf-8")
        print(f"wrote {args.svg}")
    return status


if __name__ == "__main__":
    sys.exit(main())
