"""Only the outputs and the bodies write files.

The import contracts in pyproject.toml (``lint-imports``, run by ``make lint``) say which
layer may import which; what a module *does* with the file system they cannot see. This
test reads every module of ``src/fetchpool`` with :mod:`ast` and fails on a call that
creates, changes or removes a file anywhere but in the places allowed below.

What counts as writing: ``open``/``io.open``/``os.fdopen``/``<path>.open`` with a mode
that has ``w``, ``a``, ``x`` or ``+`` (or a mode that is not a literal); ``os.open`` with
flags that are not plainly read-only; ``Path.write_text``/``write_bytes``/``touch``/
``mkdir``/``unlink``/``rename``/``symlink_to``/``hardlink_to``; ``sqlite3.connect``
(but for ``":memory:"``); any ``tempfile`` call; ``shutil`` copies, moves and removals;
``os`` renames, removals, links and directory creation. Opening ``os.devnull`` writes no
file. The check is by name, so ``from os import replace as r; r(a, b)`` is caught, but
a callable handed around (``f = os.unlink; f(p)``) is not: it finds mistakes, not
evasions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "fetchpool"

#: Where files may be written, relative to src/fetchpool (a trailing / is a package).
ALLOWED: dict[str, str] = {
    "outputs/": "the results: JSON lines, CSV, SQLite (and an SQLite's stale journal removed)",
    "bodies/": "--save-dir: bodies written to temporary files, then renamed into place",
    "lesson/bench/": "fetchpool bench: URL files in a temporary directory, results JSON, plots",
    "warc/": "--warc: the archive, an output beside the records, and its CDXJ index",
    "report/": "fetchpool report: the HTML page, written whole beside its place, then renamed",
}

_MODE_CHARS = frozenset("wax+")
_READ_ONLY_FLAGS = frozenset(
    {"O_RDONLY", "O_CLOEXEC", "O_NONBLOCK", "O_NOFOLLOW", "O_DIRECTORY", "O_NOCTTY", "O_BINARY"}
)
#: Qualified functions that always change the file system.
_WRITERS = frozenset(
    {
        *(f"os.{n}" for n in ("replace", "rename", "renames", "unlink", "remove", "removedirs")),
        *(f"os.{n}" for n in ("rmdir", "mkdir", "makedirs", "link", "symlink", "mkfifo")),
        "os.truncate",
        *(f"shutil.{n}" for n in ("copy", "copy2", "copyfile", "copyfileobj", "copytree")),
        *(f"shutil.{n}" for n in ("copymode", "copystat", "move", "rmtree")),
        *(f"shutil.{n}" for n in ("make_archive", "unpack_archive")),
    }
)
#: Methods whose name alone says a path is written (pathlib.Path's).
_PATH_WRITERS = frozenset(
    {"write_text", "write_bytes", "touch", "mkdir", "unlink", "rename", "symlink_to", "hardlink_to"}
)
#: Functions that open a file with their second argument (or ``mode=``) as the mode.
_OPENERS = frozenset({"open", "builtins.open", "io.open", "codecs.open", "os.fdopen"})


@dataclass(frozen=True)
class Write:
    line: int
    call: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.call} ({self.why})"


def _names(tree: ast.AST) -> dict[str, str]:
    """Local name -> what it was imported as: ``import os as o`` gives ``o -> os``,
    ``from os import replace`` gives ``replace -> os.replace``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    """``os.path.join`` -> "os.path.join" (imports resolved); None for anything not a name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(names.get(node.id, node.id))
    return ".".join(reversed(parts))


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def _is_devnull(node: ast.expr | None, names: dict[str, str]) -> bool:
    return node is not None and _dotted(node, names) == "os.devnull"


def _writing_mode(mode: ast.expr | None) -> str | None:
    """Why an ``open`` mode writes, or None when it only reads."""
    if mode is None:
        return None
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return f"mode {mode.value!r}" if _MODE_CHARS & set(mode.value) else None
    return "a mode that is not a literal"


def _writing_flags(flags: ast.expr | None, names: dict[str, str]) -> str | None:
    """Why ``os.open`` flags write, or None when they are read-only (``os.O_RDONLY | ...``)."""
    if flags is None:
        return "no flags"
    if isinstance(flags, ast.BinOp) and isinstance(flags.op, ast.BitOr):
        return _writing_flags(flags.left, names) or _writing_flags(flags.right, names)
    dotted = _dotted(flags, names)
    if dotted is not None and dotted.startswith("os.") and dotted[3:] in _READ_ONLY_FLAGS:
        return None
    return f"flags {ast.unparse(flags)}, not plainly read-only"


def find_writes(source: str) -> list[Write]:
    """Every call in ``source`` that writes to the file system, in line order."""
    tree = ast.parse(source)
    names = _names(tree)
    found: list[Write] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        dotted = _dotted(func, names)
        text = ast.unparse(func)
        why: str | None = None
        if dotted in _OPENERS:
            if not _is_devnull(_arg(node, 0, "file"), names):
                why = _writing_mode(_arg(node, 1, "mode"))
        elif dotted == "os.open":
            if not _is_devnull(_arg(node, 0, "path"), names):
                why = _writing_flags(_arg(node, 1, "flags"), names)
        elif dotted in _WRITERS:
            why = "changes the file system"
        elif dotted is not None and dotted.startswith("tempfile."):
            why = "a temporary file or directory"
        elif dotted == "sqlite3.connect":
            target = _arg(node, 0, "database")
            if not (isinstance(target, ast.Constant) and target.value == ":memory:"):
                why = "opens a database file"
        elif isinstance(func, ast.Attribute) and func.attr in _PATH_WRITERS:
            why = "writes a path"
        elif isinstance(func, ast.Attribute) and func.attr == "open":
            # Path.open(mode), gzip.open(path, mode)...: a literal mode among the first two.
            mode = next((kw.value for kw in node.keywords if kw.arg == "mode"), None)
            literals = [a for a in node.args[:2] if isinstance(a, ast.Constant)]
            modes = [a for a in literals if isinstance(a.value, str) and _is_mode(a.value)]
            why = _writing_mode(mode if mode is not None else (modes[0] if modes else None))
        if why:
            found.append(Write(node.lineno, text, why))
    return sorted(found, key=lambda w: w.line)


def _is_mode(text: str) -> bool:
    return 0 < len(text) <= 4 and set(text) <= set("rwxabt+")


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.py")):
        yield path.relative_to(root).as_posix(), path


def _allowed(relative: str) -> bool:
    return any(
        relative.startswith(place) if place.endswith("/") else relative == place
        for place in ALLOWED
    )


def offences(root: Path) -> list[str]:
    """``fetchpool/<module> line N: <call> (<why>)`` for each write outside :data:`ALLOWED`."""
    return [
        f"fetchpool/{relative} {write}"
        for relative, path in _modules(root)
        if not _allowed(relative)
        for write in find_writes(path.read_text(encoding="utf-8"))
    ]


def test_only_outputs_and_bodies_write_files() -> None:
    found = offences(SRC)
    assert not found, "Files are written only in " + ", ".join(ALLOWED) + ":\n" + "\n".join(found)


def test_each_allowed_place_still_writes() -> None:
    """An exception that is no longer needed is dropped, so the list stays the truth."""
    writers = {
        place
        for relative, path in _modules(SRC)
        for place in ALLOWED
        if relative.startswith(place) and find_writes(path.read_text(encoding="utf-8"))
    }
    assert writers == set(ALLOWED)


WRITES = [
    'open(p, "w")',
    "open(p, 'ab')",
    'open(p, mode="x")',
    'open(p, "r+b")',
    "open(p, mode)",
    'io.open(p, "w")',
    'os.fdopen(fd, "wb")',
    'Path(p).open("a")',
    'gzip.open(p, "wt")',
    "Path(p).write_text(s)",
    "p.write_bytes(b)",
    "p.unlink()",
    "p.mkdir(parents=True)",
    "os.open(p, os.O_WRONLY | os.O_CREAT)",
    "os.open(p, os.O_RDWR)",
    "os.open(p, flags)",
    "sqlite3.connect(p)",
    "tempfile.mkstemp()",
    "tempfile.TemporaryDirectory()",
    "shutil.copyfile(a, b)",
    "shutil.copy2(a, b)",
    "shutil.move(a, b)",
    "shutil.rmtree(d)",
    "os.replace(a, b)",
    "os.rename(a, b)",
    "os.unlink(p)",
    "os.remove(p)",
    "os.makedirs(d)",
]
READS = [
    "open(p)",
    'open(p, "rb")',
    'open(p, encoding="utf-8", errors="replace")',
    'open(os.devnull, "w")',
    "os.open(os.devnull, os.O_WRONLY)",
    "os.open(p, os.O_RDONLY | os.O_CLOEXEC)",
    'sqlite3.connect(":memory:")',
    "Path(p).read_text()",
    'Path(p).open("r")',
    "webbrowser.open(url)",
    's.replace("a", "b")',
    "dataclasses.replace(config, concurrency=1)",
    "os.path.join(a, b)",
    "os.fstat(fd)",
    "shutil.which(name)",
]
_IMPORTS = "import gzip, io, os, shutil, sqlite3, tempfile, webbrowser\nfrom pathlib import Path\n"


@pytest.mark.parametrize("call", WRITES)
def test_the_check_finds_a_write(call: str) -> None:
    (write,) = find_writes(_IMPORTS + call)
    assert write.line == 3


@pytest.mark.parametrize("call", READS)
def test_the_check_lets_a_read_pass(call: str) -> None:
    assert find_writes(_IMPORTS + call) == []


def test_the_check_follows_imported_names() -> None:
    source = (
        "from os import replace as move_into_place\n"
        "from tempfile import NamedTemporaryFile\n"
        "import shutil as sh\n"
        "def f(a, b):\n"
        "    move_into_place(a, b)\n"
        "    with NamedTemporaryFile() as t:\n"
        "        sh.copy(t.name, b)\n"
    )
    assert [(w.line, w.call) for w in find_writes(source)] == [
        (5, "move_into_place"),
        (6, "NamedTemporaryFile"),
        (7, "sh.copy"),
    ]


def test_the_walk_names_a_module_that_writes_outside_the_allowed_places(tmp_path: Path) -> None:
    writing = "import os\n\ndef save(p, s):\n    with open(p, 'w') as fh:\n        fh.write(s)\n"
    for relative in ("core/scheduler.py", "outputs/jsonl.py", "lesson/counter.py", "cli.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(writing, encoding="utf-8")
    (tmp_path / "urls.py").write_text("def f(p):\n    return open(p).read()\n", encoding="utf-8")
    assert offences(tmp_path) == [
        "fetchpool/cli.py line 4: open (mode 'w')",
        "fetchpool/core/scheduler.py line 4: open (mode 'w')",
        "fetchpool/lesson/counter.py line 4: open (mode 'w')",
    ]
