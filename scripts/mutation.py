"""Mutation testing of the rules that hold money, permissions and matching constraints (docs/testing.md).

    .venv/bin/python scripts/mutation.py MODULE [--only NAME ...] [--budget SECONDS] -- PYTEST ARGS...
    .venv/bin/python scripts/mutation.py --list src/smeai/money.py
    .venv/bin/python scripts/mutation.py --all      # every module of docs/testing.md (make mutation)

Each mutant is one small change to MODULE's syntax tree (a comparison flipped or loosened, an operator
swapped, a constant moved by one, a condition negated, a statement dropped, an element taken out of a
set literal, min/max or gt/ge swapped). The working tree is never touched: `src/` is copied once to a
temporary folder, the mutant is written into the copy, and the tests (from this checkout) import the
copy. A forked child per mutant runs `pytest -x` on the given test files, so the heavy imports happen
once. A mutant is killed when the tests fail (or run past the time limit); it survives when they pass.
Survivors are printed with their line and change; each must be killed by a test or shown equivalent.

Not mutated: docstrings, strings and f-strings (messages), type annotations.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CMP_SWAP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
CMP_FLIP: dict[type, type] = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
BIN_SWAP: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
    ast.Pow: ast.Mult,
}
BOOL_SWAP: dict[type, type] = {ast.And: ast.Or, ast.Or: ast.And}
KEYWORD_SWAP = {"gt": "ge", "ge": "gt", "lt": "le", "le": "lt"}


# The modules docs/testing.md reports on: (module, functions or classes to mutate (all: empty), test files).
SUITES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "money": ("src/smeai/money.py", (), ("tests/test_money.py",)),
    "inputs": ("src/smeai/inputs.py", (), ("tests/test_inputs.py",)),
    "ledger": (
        "src/smeai/subsidy/ledger.py",
        (
            "pool_key",
            "open_pool",
            "is_open",
            "require_open",
            "counter_caps",
            "_entry",
            "reserve",
            "release",
            "payout",
            "set_budget",
            "held",
            "sums",
            "_insert_ignore",
        ),
        ("tests/subsidy/test_ledger_mutants.py",),
    ),
    "audit": ("src/smeai/subsidy/ledger.py", ("audit",), ("tests/subsidy/test_audit_mutants.py",)),
    "calculator": (
        "src/smeai/subsidy/calculator.py",
        (
            "best_combination",
            "counter_keys",
            "contract_ref",
            "assess",
            "committed_totals",
            "calculate",
            "_claimant",
            "resolve_purchase",
            "get_programme",
            "listed_in_of",
            "check_dates",
        ),
        ("tests/subsidy/test_calculator_mutants.py",),
    ),
    "permissions": (
        "src/smeai/auth/permissions.py",
        (),
        ("tests/auth/test_permissions_mutants.py", "tests/auth/test_permissions.py"),
    ),
    "actor": (
        "src/smeai/auth/actor.py",
        (),
        ("tests/auth/test_permissions_mutants.py", "tests/auth/test_permissions.py"),
    ),
    "ranker": (
        "src/smeai/matching/ranker.py",
        ("industry_covers", "passes", "Pool.allowed"),
        ("tests/matching/test_ranker_constraints_mutants.py", "tests/matching/test_ranker.py"),
    ),
}


# Survivors shown equivalent in docs/testing.md (or, for the ledger's dialect test, killed on PostgreSQL):
# reported, but they do not fail the run. Keys are `key()`'s: scope, change, and which of equal changes.
EXPLAINED: dict[str, frozenset[str]] = {
    "smeai/money.py": frozenset(
        {
            "_finite_decimal: 'raise ValueError(NOT_A_NUMBER)': drop: raise ValueError(NOT_A_NUMBER) (1)",
            "typed_fen: '80': 80 -> 81 (1)",
            "_finite_decimal: 'raise ValueError(NOT_A_NUMBER) from None': "
            "drop: raise ValueError(NOT_A_NUMBER) from None (1)",
            "fen_to_wan: '1': 1 -> 2 (1)",
            "_cents.check: '1': 1 -> 2 (1)",
        }
    ),
    "smeai/subsidy/ledger.py": frozenset(
        {
            "_insert_ignore: \"pg_insert(model) if session.get_bind().dialect.name == 'postgresql' el\": "
            "negate the condition (1)",
            "_insert_ignore: \"session.get_bind().dialect.name == 'postgresql'\": Eq -> NotEq (1)",
            "sums: '0': 0 -> 1 (1)",
            # the audit's check of a pool over its budget (and the amount its message names): the table's
            # CHECK constraint within_budget keeps such a row out of the database on both backends
            'audit: "bad.append(f\'pool {code}: remaining {remaining} is negative (budget {p": '
            "drop: bad.append(f'pool {code}: remaining {remaining} is negative  (1)",
            "audit: 'pool.budget_fen - pool.reserved_fen - pool.paid_fen': Sub -> Add (1)",
            "audit: 'pool.budget_fen - pool.reserved_fen - pool.paid_fen': Sub -> Add (2)",
            "audit: 'pool.budget_fen - pool.reserved_fen': Sub -> Add (1)",
            "audit: 'pool.budget_fen - pool.reserved_fen': Sub -> Add (2)",
            # count() is never NULL
            "audit: '0': 0 -> 1 (3)",
        }
    ),
    "smeai/subsidy/calculator.py": frozenset(
        {
            "best_combination: '0': 0 -> 1 (2)",
            "best_combination: '1': 1 -> 2 (2)",
            "best_combination: '-len(best[2]) if best[2] else 0': negate the condition (1)",
            "best_combination: '0': 0 -> 1 (5)",
        }
    ),
    "smeai/matching/ranker.py": frozenset(
        {
            "industry_covers: \"need_industry.startswith('C') and len(need_industry) > 1\": And -> Or (1)",
            "industry_covers: 'len(need_industry) > 1': Gt -> GtE (1)",
            "industry_covers: '1': 1 -> 2 (1)",
        }
    ),
}


def keys(source: str, todo: list[tuple[int, int, str]]) -> list[str]:
    """A name for each mutant that survives edits elsewhere in the module: scope, change, (nth such)."""
    seen: dict[str, int] = {}
    out = []
    for k, v, scope in todo:
        base = f"{scope or '<module>'}: {mutate(source, k, v)[2]}"
        seen[base] = seen.get(base, 0) + 1
        out.append(f"{base} ({seen[base]})")
    return out


def run_all(budget: float) -> None:
    """Each suite in a fresh process, one after another; exit 1 if any mutant survived."""
    import subprocess

    failed = []
    for name, (module, only, tests) in SUITES.items():
        command = [sys.executable, __file__, module, "--budget", str(budget)]
        if only:
            command += ["--only", *only]
        print(f"== {name}", flush=True)
        if subprocess.run([*command, "--", *tests], cwd=ROOT).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"survivors (or errors) in: {', '.join(failed)}")


@dataclass
class Mutant:
    number: int
    line: int
    function: str
    change: str


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    out: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        out[id(child)] = (parent, name, i)
            elif isinstance(value, ast.AST):
                out[id(value)] = (parent, name, None)
    return out


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes never mutated: annotations, docstrings, f-strings and everything inside them."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            roots.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            roots.append(node.returns)
        if isinstance(node, ast.JoinedStr):
            roots.append(node)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                roots.append(first)
    return {id(n) for r in roots for n in ast.walk(r)}


def _scopes(tree: ast.Module) -> dict[int, str]:
    """Each node's enclosing function or class, as a dotted name ('' at module level)."""
    out: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = name
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{name}.{child.name}" if name else child.name
            out[id(child)] = inner
            visit(child, inner)

    visit(tree, "")
    return out


Edit = Callable[[ast.AST, Callable[[ast.AST, ast.AST], None]], str]


def _variants(node: ast.AST) -> Iterator[Edit]:
    """The edits one node allows; each edit changes the (fresh) tree and says what it did."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for table in (CMP_SWAP, CMP_FLIP):
                if type(op) in table:

                    def edit(n, replace, i=i, new=table[type(op)]):
                        old = n.ops[i]
                        n.ops[i] = new()
                        return f"{type(old).__name__} -> {new.__name__}"

                    yield edit
    elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in BIN_SWAP:

        def edit(n, replace):
            old, n.op = n.op, BIN_SWAP[type(n.op)]()
            return f"{type(old).__name__} -> {type(n.op).__name__}"

        yield edit
    elif isinstance(node, ast.BoolOp):

        def edit(n, replace):
            old, n.op = n.op, BOOL_SWAP[type(n.op)]()
            return f"{type(old).__name__} -> {type(n.op).__name__}"

        yield edit
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):

        def edit(n, replace):
            replace(n, n.operand)
            return "drop `not`"

        yield edit
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes) and node.value is not None:
        if isinstance(node.value, bool):

            def edit(n, replace):
                n.value = not n.value
                return f"{not n.value} -> {n.value}"

            yield edit
        elif isinstance(node.value, int | float):

            def edit(n, replace):
                old = n.value
                n.value = old + 1
                return f"{old!r} -> {n.value!r}"

            yield edit
    elif isinstance(node, ast.Set) and len(node.elts) > 0:
        for i in range(len(node.elts)):

            def edit(n, replace, i=i):
                gone = n.elts.pop(i)
                return f"drop {ast.unparse(gone)} from a set"

            yield edit
    elif isinstance(node, ast.keyword) and node.arg in KEYWORD_SWAP:

        def edit(n, replace):
            old, n.arg = n.arg, KEYWORD_SWAP[n.arg]
            return f"{old}= -> {n.arg}="

        yield edit
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):

        def edit(n, replace):
            old, n.func.id = n.func.id, "max" if n.func.id == "min" else "min"
            return f"{old}( -> {n.func.id}("

        yield edit
    if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):

        def edit(n, replace):
            n.test = ast.UnaryOp(op=ast.Not(), operand=n.test)
            return "negate the condition"

        yield edit
    if isinstance(node, ast.Expr | ast.Raise | ast.AugAssign | ast.Return) and not (
        isinstance(node, ast.Return)
        and (node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None))
    ):

        def edit(n, replace):
            replace(n, ast.Pass() if not isinstance(n, ast.Return) else ast.Return(value=None))
            return f"{'return None' if isinstance(n, ast.Return) else 'drop'}: {ast.unparse(n)[:60]}"

        yield edit


def sites(source: str, only: list[str]) -> list[tuple[int, int, str]]:
    """(node index in ast.walk order, variant index, scope) for every mutation MODULE allows."""
    tree = ast.parse(source)
    skipped, scopes = _skipped(tree), _scopes(tree)
    out = []
    for k, node in enumerate(ast.walk(tree)):
        if id(node) in skipped:
            continue
        scope = scopes.get(id(node), "")
        if only and not any(scope == o or scope.startswith(o + ".") for o in only):
            continue
        for v, _ in enumerate(_variants(node)):
            out.append((k, v, scope))
    return out


def mutate(source: str, k: int, v: int) -> tuple[str, int, str]:
    """MODULE's source with mutation (k, v) applied, its line and what it changed."""
    tree = ast.parse(source)
    parents = _parents(tree)
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == k)

    def replace(old: ast.AST, new: ast.AST) -> None:
        parent, name, index = parents[id(old)]
        if index is None:
            setattr(parent, name, new)
        else:
            getattr(parent, name)[index] = new

    line = getattr(node, "lineno", 0)
    before = ast.unparse(copy.deepcopy(node))
    edit = list(_variants(node))[v]
    change = edit(node, replace)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree), line, f"{before[:70]!r}: {change}"


PREIMPORT = (
    "pytest",
    "sqlalchemy",
    "sqlalchemy.orm",
    "fastapi",
    "starlette.testclient",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "numpy",
    "jinja2",
    "typer",
    "babel",
    "yaml",
    "jieba",
    "argon2",
    "hypothesis",
    "alembic",
    # pytest's plugins (entry points), loaded by every run
    "schemathesis.pytest.plugin",
    "xdist.plugin",
    "xdist.looponfail",
    "_hypothesis_pytestplugin",
    "anyio.pytest_plugin",
)


def run_tests(copy_src: Path, pytest_args: list[str], timeout: float) -> tuple[str, float]:
    """'killed', 'survived' or 'timeout' for the mutant now in COPY_SRC, and the seconds it took."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child: the copy comes first on the path; nothing of smeai is imported yet
        try:
            sys.path.insert(0, str(copy_src))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            rc = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *pytest_args])
            import smeai

            if not str(Path(smeai.__file__)).startswith(str(copy_src)):
                os._exit(99)
            os._exit(int(rc))
        except BaseException:
            os._exit(98)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - start
        time.sleep(0.05)
    rc = os.waitstatus_to_exitcode(status)
    if rc in (98, 99):
        raise SystemExit(f"the test run did not import the mutated copy (exit {rc})")
    if rc in (2, 3, 4):  # interrupted, internal error, usage error: a mutant that breaks import counts as killed
        return "killed", time.monotonic() - start
    return ("survived" if rc == 0 else "killed"), time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", help="a file under src/, e.g. src/smeai/money.py")
    parser.add_argument("--all", action="store_true", help="every suite of docs/testing.md, one after another")
    parser.add_argument("--only", nargs="*", default=[], help="functions or classes to mutate (dotted names)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--pick", nargs="*", type=int, default=[], help="run only these mutants (numbers of --list)")
    parser.add_argument("--budget", type=float, default=600, help="seconds for the whole run (default 600)")
    parser.add_argument("--out", help="write one JSON line per mutant here")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1 :]  # after --: the test files (run with SMEAI_TEST_BACKENDS=sqlite)
    if args.all:
        run_all(args.budget)
        return
    if not args.module:
        parser.error("name a module, or --all")
    module = Path(args.module).resolve()
    relative = module.relative_to(ROOT / "src")
    source = module.read_text(encoding="utf-8")
    todo = sites(source, args.only)
    names = keys(source, todo)
    explained = EXPLAINED.get(str(relative), frozenset())
    if args.list:
        for n, (k, v, _scope) in enumerate(todo, 1):
            line = mutate(source, k, v)[1]
            print(f"{n:4} line {line:4} {names[n - 1]}{'  [explained]' if names[n - 1] in explained else ''}")
        return
    if not args.pytest_args:
        parser.error("name the test files after --")
    os.environ.setdefault("SMEAI_TEST_BACKENDS", "sqlite")
    os.chdir(ROOT)
    for name in PREIMPORT:
        with contextlib.suppress(ImportError):
            __import__(name)
    assert "smeai" not in sys.modules
    with tempfile.TemporaryDirectory(prefix="smeai-mutation-") as tmp:
        copy_src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", copy_src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        target = copy_src / relative
        cache = target.parent / "__pycache__"
        status, base = run_tests(copy_src, args.pytest_args, timeout=args.budget)
        if status != "survived":
            raise SystemExit(f"the tests fail on the unmutated code ({status}); fix them first")
        total = len(args.pick) if args.pick else len(todo)
        print(f"{relative}: {total} mutants; tests take {base:.1f} s unmutated", flush=True)
        out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115
        counts = {"killed": 0, "timeout": 0, "survived": 0, "explained": 0, "not run": 0}
        survivors: list[Mutant] = []
        begun = time.monotonic()
        for n, (k, v, scope) in enumerate(todo, 1):
            if args.pick and n not in args.pick:
                continue
            mutated, line, change = mutate(source, k, v)
            if time.monotonic() - begun > args.budget:
                counts["not run"] += 1
                continue
            target.write_text(mutated, encoding="utf-8")
            shutil.rmtree(cache, ignore_errors=True)  # never a stale .pyc of another mutant
            status, seconds = run_tests(copy_src, args.pytest_args, timeout=3 * base + 10)
            if status == "survived" and names[n - 1] in explained:
                status = "explained"
                counts["explained"] += 1
                print(f"  survived, explained in docs/testing.md: #{n} line {line} {names[n - 1]}", flush=True)
            elif status == "survived":
                counts["survived"] += 1
                survivors.append(Mutant(n, line, scope, change))
                print(f"  SURVIVED #{n} line {line} {names[n - 1]}", flush=True)
            else:
                counts[status] += 1
            if out:
                out.write(
                    json.dumps(
                        {"n": n, "line": line, "key": names[n - 1], "status": status, "seconds": round(seconds, 1)},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                out.flush()
        target.write_text(source, encoding="utf-8")
        print(
            f"{relative}: {total} mutants, {counts['killed'] + counts['timeout']} killed "
            f"({counts['timeout']} by time limit), {counts['survived']} survived, {counts['explained']} survived but "
            f"explained, {counts['not run']} not run "
            f"in {time.monotonic() - begun:.0f} s"
        )
        if out:
            out.close()
        sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
