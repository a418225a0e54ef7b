"""The README says only what is true: every `cvp` command and flag it writes exists in the CLI, every dotted config
key exists in `configs/default.yaml`, every repository path exists and every `models.x.y` / `features.x.y` /
`pipelines.x.y` resolves. Fast and without data: the CLI is read from the typer app (no command runs), the config
from its YAML, the modules by their syntax tree (nothing of the product imported but `pipelines.cli`).

Each check is a function of a document's text that returns its mistakes, so the checker is tested on planted false
lines below as well as run on README.md and docs/*.md."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest
import yaml

from tests.shared_data import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PACKAGES = ("features", "models", "pipelines", "bench", "tests", "configs")

# Dotted names written in backticks that look like a setting but are no key of configs/default.yaml, on purpose.
NOT_CONFIG_KEYS = {
    "labels.horizon_dayz": "the misspelt key in the example of the config check's message",
    "tiers.great_share": "an unknown key in the example of the config check's message",
    "data.amount_scale": "recorded by a model (its training data's amount medians), not a setting",
    "data.input_columns": "recorded by a model (the input columns that shaped its features), not a setting",
    "data.code": "recorded by a model (the package version and code digests it was trained with), not a setting",
    "data.first_order": "recorded by a model (where its training data started), not a setting",
    "data.positive_shares": "recorded by a model (the share of rows above 0 of each number column), not a setting",
}
# Dotted names written in backticks that start with a product module's short name or a class but name no member.
NOT_NAMES = {
    "lookalike.auc_model": "an MLflow metric of the lookalike model",
    "lookalike.auc_baseline": "an MLflow metric of the lookalike model",
}
# Words that end a dotted name as a file name, not a key (`profile.html`, `scores.parquet`).
FILE_SUFFIXES = {"html", "json", "parquet", "csv", "py", "yaml", "yml", "md", "txt", "log", "lock", "toml"}


# --- what a document writes ----------------------------------------------------------------------------------


def split_code(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(code block lines, code spans outside code blocks), each with its 1-based line number. A block line ending
    in a backslash is joined with the next (a shell command on several lines)."""
    blocks: list[tuple[int, str]] = []
    spans: list[tuple[int, str]] = []
    fenced = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            if pending is not None:
                number, line = pending[0], pending[1] + " " + line.strip()
                pending = None
            if line.rstrip().endswith("\\"):
                pending = (number, line.rstrip()[:-1])
            else:
                blocks.append((number, line))
            continue
        spans += [(number, span) for span in re.findall(r"`([^`\n]+)`", line)]
    return blocks, spans


# --- 1. commands and flags -----------------------------------------------------------------------------------


@functools.cache
def cli_commands() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(the flags of `cvp` itself, {command: its flags}) read from the typer app; no command runs."""
    import typer

    from pipelines.cli import app

    group = typer.main.get_command(app)
    context = group.make_context("cvp", [], resilient_parsing=True)

    def flags(command: typer.core.TyperCommand | typer.core.TyperGroup) -> frozenset[str]:
        names = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
        return frozenset(names | set(context.help_option_names))

    commands = group.commands  # type: ignore[attr-defined]
    found = {name: flags(command) for name, command in commands.items()}
    for name, command in commands.items():  # a group's own commands: `cvp models promote` -> "models promote"
        for sub, subcommand in getattr(command, "commands", {}).items():
            found[f"{name} {sub}"] = flags(subcommand)
    return flags(group), found


CVP = re.compile(r"(?<![\w.-])cvp(?![\w.-])")
FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")


def command_mistakes(text: str) -> list[str]:
    """Every `cvp <command> ... --flag` in code spans and code blocks: the command exists and has the flag (a
    `cvp train / backtest --x` needs --x on both)."""
    top, commands = cli_commands()
    blocks, spans = split_code(text)
    found = []
    for number, code in blocks + spans:
        code = code.replace("\\|", "/")  # an escaped pipe inside a table's code span: alternatives
        matches = list(CVP.finditer(code))
        ends = [m.start() for m in matches[1:]] + [len(code)] * bool(matches)
        for start, end in zip([m.end() for m in matches], ends, strict=True):
            words = re.split(r"(?<!\\)\||;|&&|\s#", code[start:end])[0]
            rest = words.strip()
            while (flag := re.match(r"--?[\w-]+", rest)) and flag.group() in top:
                rest = rest[flag.end() :].strip()
            named = re.match(r"([a-z][\w-]*(?:\s*/\s*[a-z][\w-]*)*)(?![\w.-])", rest)
            if rest.startswith("-"):
                found += [f"{number}: `cvp {f}`: no such option of cvp" for f in FLAG.findall(rest)[:1]]
                continue
            if not named:
                continue  # `cvp` alone, `cvp ...`, `cvp <command>`
            names = [n.strip() for n in named.group(1).split("/")]
            for name in names:
                if name not in commands:
                    found.append(f"{number}: `cvp {name}`: no such command (commands: {', '.join(commands)})")
                    continue
                after = rest[named.end() :]
                # a group's own command (`cvp models promote`): its flags
                if sub := re.match(r"\s+([a-z][\w-]*)(?![\w.-])", after):
                    if f"{name} {sub.group(1)}" in commands:
                        name, after = f"{name} {sub.group(1)}", after[sub.end() :]
                for flag in FLAG.findall(after):
                    if flag not in commands[name]:
                        found.append(f"{number}: `cvp {name} {flag}`: no such flag of `cvp {name}`")
    return found


# --- 2. config keys and 3. module names ----------------------------------------------------------------------


@functools.cache
def default_config(root: Path) -> dict:
    return yaml.safe_load((root / "configs" / "default.yaml").read_text(encoding="utf-8"))


def key_exists(config: object, parts: list[str]) -> bool:
    """`parts` is a path of keys in `config`; a mapping's key may itself hold dots (`data.max_values.orders.revenue`)."""
    if not parts:
        return True
    if not isinstance(config, dict):
        return False
    for size in range(len(parts), 0, -1):
        key = ".".join(parts[:size])
        if key in config and key_exists(config[key], parts[size:]):
            return True
    return False


def module_file(root: Path, dotted: list[str]) -> Path | None:
    path = root.joinpath(*dotted)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def top_level_names(path: Path) -> dict[str, set[str] | None]:
    """{name defined at the top of the module: the names its class body defines, or None when it is no class}."""
    names: dict[str, set[str] | None] = {}

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Assign):
            return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            return [node.target.id]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return [node.name]
        if isinstance(node, ast.Import | ast.ImportFrom):
            return [(a.asname or a.name).split(".")[0] for a in node.names]
        return []

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                names[node.name] = (
                    {t for child in node.body for t in targets(child)}
                    | {c.name for c in node.body if isinstance(c, ast.ClassDef)}
                    | {  # `self.scale_cutoffs_ = ...` in a method
                        n.attr
                        for n in ast.walk(node)
                        if isinstance(n, ast.Attribute)
                        and isinstance(n.value, ast.Name)
                        and n.value.id == "self"
                        if isinstance(n.ctx, ast.Store)
                    }
                )
            elif isinstance(node, ast.If | ast.Try):  # `if TYPE_CHECKING:` / `try: import ...`
                walk(
                    node.body
                    + getattr(node, "orelse", [])
                    + [s for h in getattr(node, "handlers", []) for s in h.body]
                )
            else:
                names.update(dict.fromkeys(targets(node)))

    walk(ast.parse(path.read_text(encoding="utf-8")).body)
    return names


def member_mistake(path: Path, rest: list[str], root: Path) -> str | None:
    """None when `rest[0]` is defined at the top of `path` (and `rest[1]` in it, when it is a class)."""
    defined = top_level_names(path)
    where = path.relative_to(root).as_posix()
    if rest[0] not in defined:
        return f"no `{rest[0]}` in {where}"
    members = defined[rest[0]]
    if len(rest) > 1 and members is not None and rest[1] not in members:
        return f"no `{rest[1]}` in class {rest[0]} of {where}"
    return None


def name_mistake(root: Path, parts: list[str]) -> str | None:
    """None when `pkg.module[.name[.attr]]` resolves in the source under `root`; else what is missing."""
    for size in range(len(parts), 0, -1):
        path = module_file(root, parts[:size])
        if path is not None:
            return member_mistake(path, parts[size:], root) if parts[size:] else None
    return "no such module"


@functools.cache
def contract_tables(root: Path) -> frozenset[str]:
    """The data contract's tables (`customers.signup_at` is a column, not the demo's `customers` module), read from
    the `Table("orders", ...)` calls of features/contract.py."""
    tree = ast.parse((root / "features" / "contract.py").read_text(encoding="utf-8"))
    tables = frozenset(
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Table"
        if node.args and isinstance(node.args[0], ast.Constant)
    )
    assert "customers" in tables and "orders" in tables, tables
    return tables


@functools.cache
def product_modules(root: Path) -> dict[str, list[Path]]:
    """{a product module's short name (`spark_engine`) or class name (`ScoreRun`): the files defining it}."""
    found: dict[str, list[Path]] = {}
    for package in ("features", "models", "pipelines"):
        for path in sorted((root / package).rglob("*.py")):
            found.setdefault(path.stem, []).append(path)
            for name, members in top_level_names(path).items():
                if members is not None and name[:1].isupper():
                    found.setdefault(name, []).append(path)
    return found


DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w/-])")


def dotted_mistakes(text: str, root: Path = REPO) -> list[str]:
    """Every dotted name in code that starts with a config section (`labels.horizon_days`) or a package
    (`models.tiers.tier_cut_points`): the key exists in configs/default.yaml, or the module and its name exist
    (`features.` and `models.` are both); a module's short name or a class (`ScoreRun.scores`) is read the same way
    when exactly one product file defines it."""
    config = default_config(root)
    blocks, spans = split_code(text)
    found = []
    for number, span in blocks + spans:
        for match in DOTTED.finditer(span):
            parts = match.group(1).split(".")
            if parts[-1] in FILE_SUFFIXES:
                continue  # a file name: `profile.html`
            head, name = parts[0], match.group(1)
            if head in PACKAGES or head in config:  # `features.` and `models.` are both
                module = name_mistake(root, parts) if head in PACKAGES else "no package"
                if module is None or (
                    head in config and (name in NOT_CONFIG_KEYS or key_exists(config, parts))
                ):
                    continue
                if head not in config or module_file(root, parts[:2]) or (root / head / parts[1]).is_dir():
                    found.append(f"{number}: `{name}`: {module}")
                else:
                    nor = f" nor a name in the {head} package" if head in PACKAGES else ""
                    found.append(f"{number}: `{name}`: no such key in configs/default.yaml{nor}")
            elif head in contract_tables(root) | {"table", "tables"} or match.group(1) in NOT_NAMES:
                continue  # `customers.signup_at`, `table.column`: a column
            elif len(files := product_modules(root).get(head, [])) == 1:
                # `ScoreRun.scores` (a class), `spark_engine.batch_drift` (a module's short name)
                rest = parts if head[:1].isupper() else parts[1:]
                if (problem := member_mistake(files[0], rest, root)) is not None:
                    found.append(f"{number}: `{match.group(1)}`: {problem}")
    return found


# --- 3. paths ------------------------------------------------------------------------------------------------

PATH = re.compile(
    r"(?<![\w./<{-])((?:" + "|".join(PACKAGES) + r"|docs)/[\w./*-]*?)(::[\w\[\]-]+)?(?=$|[\s`'\",;:)\]])"
)


BARE_FILE = re.compile(r"(?<![\w./<{*-])(\w+\.(?:py|yaml|toml))(?![\w/*-])")


@functools.cache
def repository_file_names(root: Path) -> frozenset[str]:
    names = {p.name for p in root.iterdir() if p.is_file()}
    return frozenset(
        names | {p.name for package in PACKAGES for p in (root / package).rglob("*") if p.is_file()}
    )


def path_mistakes(text: str, root: Path = REPO) -> list[str]:
    """Every repository path in code exists (a glob matches a file; `tests/x.py::test_y` names a test), and every
    bare file name in a code span (`history_store.py`, written under its folder's heading) is a file of the
    repository (a code block's may be one its commands write)."""
    blocks, spans = split_code(text)
    found = []
    for number, span in spans:
        for match in BARE_FILE.finditer(span):
            if match.group(1) not in repository_file_names(root):
                found.append(f"{number}: `{match.group(1)}`: no file of that name in the repository")
    for number, span in blocks + spans:
        for match in PATH.finditer(span):
            path, test = match.group(1).rstrip("."), match.group(2)
            if "<" in span[match.start() : match.end() + 1] or "{" in path:
                continue
            exists = any(root.glob(path.rstrip("/"))) if "*" in path else (root / path).exists()
            if not exists:
                found.append(f"{number}: `{path}`: no such file or directory")
            elif test and path.endswith(".py") and "*" not in path:
                name = test[2:].split("[")[0]
                if name not in top_level_names(root / path):
                    found.append(f"{number}: `{path}{test}`: no such test")
    return found


# --- on the documents ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
@pytest.mark.parametrize("check", [command_mistakes, dotted_mistakes, path_mistakes])
def test_the_documents_name_only_what_exists(document, check):
    mistakes = check(document.read_text(encoding="utf-8"))
    assert not mistakes, f"{document.name} names what does not exist:\n" + "\n".join(mistakes)


def test_the_checks_read_the_readme():
    """Each check finds enough in the README and docs/ to check (a broken pattern would find nothing and pass)."""
    blocks, spans = split_code("\n".join(d.read_text(encoding="utf-8") for d in DOCUMENTS))
    assert len(blocks) > 50 and len(spans) > 1000
    assert sum(bool(CVP.search(code)) for _, code in blocks + spans) > 100
    assert sum(bool(PATH.search(span)) for _, span in spans) > 100
    assert sum(bool(DOTTED.search(span)) for _, span in spans) > 300
    assert sum(bool(BARE_FILE.search(span)) for _, span in spans) > 10


# --- the checker catches a false line ----------------------------------------------------------------------------

TRUE_LINES = """
Run `cvp score --data DIR --as-of DATE --out scores.parquet [--engine pandas\\|spark]` then `cvp --verbose score`.
`cvp train / backtest --engine spark [--sample-customers N]`, `cvp train --promote/--no-promote`, `cvp score --help`, `.venv/bin/cvp demo --out demo`.
`cvp models promote 3 --force`, `cvp models --json`.
Keys: `labels.horizon_days`, `models.lightgbm.n_jobs`, `data.max_values.orders.revenue`, `tiers.stability.rule: none`,
`features.windows_days: [30, 90, 365]`, `labels.horizon_dayz` (the misspelt example), `profile.html`.
Code: `models.tiers.tier_cut_points`, `features.validation.isin_ids`, `pipelines.history`, `features.validation`,
`models.value.FutureValueModel.scale_cutoffs_`, `spark_engine.input_partitions`, `ScoreRun.scores`,
`customers.signup_at`, `features.build_feature_table`. Paths: `pipelines/engines/spark_*.py`, `models/tiers.py`, `configs/default.yaml`,
`tests/test_layers.py`, `pipelines/reports/`, `tests/test_layers.py::test_layer_imports`, `history_store.py`.
```bash
cvp score --data DIR --as-of 2025-01-01 \\
    --out out/scores.parquet --history out/history   # every month
cvp history --history out/history | less
```
"""

FALSE_LINES = [
    (command_mistakes, "`cvp scores --data DIR`", "no such command"),
    (command_mistakes, "`cvp score --data DIR --as-off DATE`", "no such flag of `cvp score`"),
    (command_mistakes, "`cvp train / backtest --folds K`", "no such flag of `cvp train`"),
    (command_mistakes, "`cvp --verbos score`", "no such option of cvp"),
    (command_mistakes, "then `.venv/bin/cvp demo --outdir demo`", "no such flag of `cvp demo`"),
    (command_mistakes, "`cvp report [--history DIR] [--rejects DIR]`", "no such flag of `cvp report`"),
    (command_mistakes, "`cvp models promote 3 --json`", "no such flag of `cvp models promote`"),
    (
        command_mistakes,
        "```\ncvp score --data DIR \\\n  --mapping FILE --outt x.parquet\n```",
        "`cvp score --outt`",
    ),
    (dotted_mistakes, "`labels.horizon_weeks`", "no such key"),
    (dotted_mistakes, "set `tiers.stability.rules: none`", "no such key"),
    (dotted_mistakes, "`models.lightgbm.n_job`", "no such key"),
    (dotted_mistakes, "`data.max_values.orders.revenu`", "no such key"),
    (
        dotted_mistakes,
        "`models.stability.stable_tier(history, tiers.stability, value_column)`",
        "no `stable_tier`",
    ),
    (dotted_mistakes, "`features.valdation.isin_ids`", "nor a name in the features package"),
    (dotted_mistakes, "`pipelines.engines.spark_engin`", "no `spark_engin` in pipelines/engines/__init__.py"),
    (dotted_mistakes, "`bench.scores.main`", "no such module"),
    (dotted_mistakes, "`models.value.FutureValueModel.scale_cutoff_`", "no `scale_cutoff_` in class"),
    (dotted_mistakes, "`spark_engine.input_partition`", "no `input_partition`"),
    (dotted_mistakes, "`ScoreRun.score`", "no `score` in class ScoreRun"),
    (path_mistakes, "`pipelines/histories.py`", "no such file"),
    (path_mistakes, "`tests/pipelines/test_sparky*.py`", "no such file"),
    (path_mistakes, "`docs/guide.md`", "no such file"),
    (path_mistakes, "run `bench/scores.py --smoke`", "no such file"),
    (path_mistakes, "`tests/test_layers.py::test_no_such_test`", "no such test"),
    (path_mistakes, "`history_storage.py`", "no file of that name"),
    (path_mistakes, "```\ncvp validate --data x --mapping configs/datasets/online.yaml\n```", "no such file"),
    (
        dotted_mistakes,
        "```\npython -c 'from pipelines.cli import app' && python -m pipelines.clii\n```",
        "no `clii`",
    ),
]


@pytest.mark.parametrize("check", [command_mistakes, dotted_mistakes, path_mistakes])
def test_the_checks_pass_true_lines(check):
    assert check(TRUE_LINES) == []


@pytest.mark.parametrize(("check", "line", "message"), FALSE_LINES, ids=[line for _, line, _ in FALSE_LINES])
def test_the_checks_catch_a_false_line(check, line, message):
    mistakes = check(TRUE_LINES + "\n" + line + "\n")
    assert len(mistakes) == 1 and message in mistakes[0], mistakes


# --- the README stays a front door -------------------------------------------------------------------------------

README = REPO / "README.md"
FRONT_DOOR_BYTES = 80_000  # about a quarter of an hour's read; the reference lives in docs/
FRONT_DOOR_LINE = 400  # characters: a longer line outside a code block is a paragraph on one line
# The one long line kept whole: the `make test` row each landing rewrites with its figures, load and code; its
# history belongs in docs/measurements.md, so it too has a cap.
LONG_LINES_KEPT = ("| `make test` from a fresh clone through `.ci/run`",)
LONG_LINE_KEPT_CAP = 2_000
FRONT_DOOR_SECTIONS = (
    "Two commands",
    "For each user",
    "The flow",
    "The data contract",
    "Command line",
    "Exit codes",
    "What bad input gets",
    "Models and their quality",
    "The Spark engine",
    "Measured speed and memory",
    "Known limits",
    "Tests",
    "License",
)


def front_door_mistakes(text: str) -> list[str]:
    """What makes a README a reference instead of a front door: its size, a paragraph written on one line outside
    a code block, a section a new user looks for missing, a page of docs/ it does not link to."""
    found = []
    if (size := len(text.encode("utf-8"))) > FRONT_DOOR_BYTES:
        found.append(f"{size:,} bytes, over {FRONT_DOOR_BYTES:,}: move the detail to docs/")
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        cap = LONG_LINE_KEPT_CAP if line.startswith(LONG_LINES_KEPT) else FRONT_DOOR_LINE
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and len(line) > cap:
            found.append(f"{number}: {len(line):,} characters on one line (over {cap:,}): {line[:50]}")
    headings = set(re.findall(r"^## (.+?)\s*$", text, flags=re.M))
    found += [f"no section `## {name}`" for name in FRONT_DOOR_SECTIONS if name not in headings]
    pages = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))
    found += [f"no link to {page}" for page in pages if f"]({page}" not in text]
    return found


def test_the_readme_stays_a_front_door():
    mistakes = front_door_mistakes(README.read_text(encoding="utf-8"))
    assert not mistakes, "README.md is no longer a front door:\n" + "\n".join(mistakes)


def test_the_front_door_check_catches_a_paragraph_on_one_line_and_a_reference_grown_back():
    text = README.read_text(encoding="utf-8")
    cell = "| a bad input | " + "what it gets, and what it got before, round after round; " * 8 + "|"
    long_line = front_door_mistakes(text + "\n" + cell + "\n")
    assert len(long_line) == 1 and "characters on one line" in long_line[0], long_line
    assert front_door_mistakes(text + "\n```\n" + cell + "\n```\n") == []  # a code block may hold a long line
    grown = front_door_mistakes(text + "\n" + "A note of the latest round.\n" * 3_000)
    assert len(grown) == 1 and "move the detail to docs/" in grown[0], grown
    renamed = front_door_mistakes(text.replace("## Known limits", "## Limits"))
    assert renamed == ["no section `## Known limits`"], renamed
    assert front_door_mistakes(text.replace("## The Spark engine", "## Spark")) == [
        "no section `## The Spark engine`"
    ]
    test_row = next(line for line in text.splitlines() if line.startswith(LONG_LINES_KEPT))
    grown_row = front_door_mistakes(text.replace(test_row, test_row + " history of the landing before;" * 80))
    assert len(grown_row) == 1 and "characters on one line (over 2,000)" in grown_row[0], grown_row
