"""The package's layering, read from the source (AST, nothing imported): every import goes down the layers of
the README's architecture, and the run-time side (runtime, ros, bag and what they stand on) imports no torch when
its modules load. A planted wrong import must be caught."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from conftest import REPO

PACKAGE = "motion_text_node"
#: Bottom to top; a package may import its own modules and those of packages below it, never above. The run-time
#: code (runtime) stands on skeleton, captions and data only, so training, export (which checks its ONNX files
#: with the runtime's encoders) and the tools sit above it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "paths", "checks"),
    ("outputs", "metrics"),  # output-path checks (raising errors.UserError); retrieval/recognition metrics
    ("skeleton",),
    ("captions", "viz"),
    ("data",),
    ("runtime",),
    ("model",),
    ("train",),
    ("export",),
    ("ros",),
    ("bag",),
    ("bench", "demo", "doctor"),
    ("commands",),
    ("cli", "__init__", "__main__"),
)
#: Packages whose modules must load without these (the nodes, bag tools and benchmarks run where torch is not
#: installed; the benchmarks that need torch import it when they run).
TORCH_FREE = ("checks", "metrics", "skeleton", "captions", "viz", "data", "runtime", "ros", "bag", "bench")
HEAVY = ("torch", "transformers", "smplx")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def read_imports(root: Path = REPO / PACKAGE) -> dict[str, list[tuple[str, bool]]]:
    """Module name -> [(imported module, at module level)], every import statement of the source."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__") if rel.name == "__init__" else ".".join(rel.parts)
        tree = ast.parse(path.read_text(), str(path))
        top = {id(n) for n in tree.body}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(a.name, id(node) in top) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.module, id(node) in top))
        out[name] = found
    return out


def layering_violations(imports: dict[str, list[tuple[str, bool]]]) -> list[str]:
    """Imports that go up or sideways between packages of different layers, as 'module -> imported' lines."""
    rank = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
    bad = []
    for module, targets in imports.items():
        src = _package(module)
        for target, _ in targets:
            if not target.startswith(PACKAGE + "."):
                continue
            dst = _package(target)
            if src not in rank or dst not in rank:
                bad.append(f"{module} -> {target} (package not in LAYERS)")
            elif dst != src and rank[dst] >= rank[src]:
                bad.append(f"{module} -> {target}")
    return bad


def heavy_at_load(imports: dict[str, list[tuple[str, bool]]]) -> dict[str, list[str]]:
    """Module -> the chain through which loading it imports torch/transformers/smplx (module-level imports only,
    followed through the package's own modules and their parent packages)."""
    graph = defaultdict(list)
    for module, targets in imports.items():
        for target, top in targets:
            if top:
                graph[module].append(target)

    def parents(name: str) -> list[str]:
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts))]

    found: dict[str, list[str]] = {}
    for start in imports:
        seen, stack = set(), [(start, [start])]
        while stack:
            module, chain = stack.pop()
            if module.split(".")[0] in HEAVY:
                found[start] = chain
                break
            if module in seen or not module.startswith(PACKAGE):
                continue
            seen.add(module)
            for nxt in graph.get(module, []) + [p for p in parents(module) if p in imports]:
                stack.append((nxt, chain + [nxt]))
    return found


def test_every_import_goes_down_the_layers() -> None:
    assert layering_violations(read_imports()) == []


def test_the_run_time_side_loads_without_torch() -> None:
    heavy = heavy_at_load(read_imports())
    offenders = {m: " -> ".join(chain) for m, chain in heavy.items() if _package(m) in TORCH_FREE}
    assert offenders == {}
    assert "motion_text_node.model.contrastive" in heavy  # the check sees torch where it is


def test_a_planted_wrong_import_is_caught(tmp_path) -> None:
    """A copy of the package with one import against the flow (skeleton reaching into train) and one lazy torch
    import made module-level in the runtime: both are reported."""
    import shutil

    copy = tmp_path / PACKAGE
    shutil.copytree(REPO / PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    motion = copy / "skeleton" / "motion.py"
    motion.write_text(motion.read_text() + "\nfrom motion_text_node.train.config import TrainConfig  # noqa\n")
    (copy / "runtime" / "planted.py").write_text("from motion_text_node.model.losses import contrastive_loss\n")
    imports = read_imports(copy)
    assert layering_violations(imports) == ["motion_text_node.runtime.planted -> motion_text_node.model.losses",
                                            "motion_text_node.skeleton.motion -> motion_text_node.train.config"]
    heavy = heavy_at_load(imports)
    assert heavy["motion_text_node.runtime.planted"][-1].startswith("torch")
