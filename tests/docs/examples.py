"""Every Python, JSON and shell example in README.md and docs/ runs (the ``docs`` tier).

Sybil (https://sybil.readthedocs.io) finds the fenced blocks; this module says how each
language is run:

* ``python``: executed with Django set up on the test database, one namespace per page
  (later blocks see earlier names). ``>>>`` blocks are doctests. A block that assigns
  ``DJANGO_AUTOMATE`` is also validated: the schema (``automate.E001``) and every system
  check of the app, with that value in force.
* ``json``: parsed (a block may hold one value, several, or a ``"key": value`` fragment);
  workflow files, graphs and nodes are validated by the product's own validators.
* ``sh``/``bash``: ``manage.py`` commands run in-process (``call_command``) against the
  test database, with ``export`` lines and ``< file``/``printf … |`` stdin honoured. A
  block with anything else (make, curl, pip) must be preceded by a visible
  ``<!-- skip: next "why" -->``: the test fails otherwise.

Set-up a reader does not need to see (a tenant named ``acme``, a fake ERP client) is in
``<!-- invisible-code-block: python … -->`` comments beside the example it serves. Each
page runs in its own database state: the database is flushed after every page.
"""

from __future__ import annotations

import doctest
import io
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------
# python
# ---------------------------------------------------------------------------------------

_python = PythonEvaluator()


def _automate_errors(value: Any) -> list[str]:
    """What ``manage.py check`` says about ``DJANGO_AUTOMATE = value`` (errors only)."""
    from django.core import checks
    from django.test import override_settings

    from automate import conf

    problems = list(conf.validate(value))
    with override_settings(DJANGO_AUTOMATE=value):
        for message in checks.run_checks():
            if not (message.id or "").startswith("automate.") or not message.is_serious():
                continue
            # Examples name the reader's own models (shop.Order, crm.Customer).
            if "is not installed" in message.msg or "not an installed model" in message.msg:
                continue
            problems.append(f"{message.id}: {message.msg}")
    return problems


_FILE_HEADER = re.compile(r"\A# (?P<path>[\w/]+\.py)\n")


def _import_file_block(example: Example) -> bool:
    """A block headed ``# my_app/adapters.py`` is that module: written to the page's
    directory (on ``sys.path``) and imported, so its relative imports work."""
    import importlib

    match = _FILE_HEADER.match(example.parsed)
    if not match or match["path"] in ("settings.py", "urls.py"):
        return False
    page = example.namespace["docs_page"]
    path = page.tmp / match["path"]
    if match["path"].startswith("tests/"):
        _run_test_file(example, path)
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(page.tmp).parents:
        if str(parent) != ".":
            (page.tmp / parent / "__init__.py").touch()
    path.write_text(example.parsed)
    module_name = match["path"][:-3].replace("/", ".")
    importlib.invalidate_caches()
    if module_name in sys.modules:
        module = importlib.reload(sys.modules[module_name])
    else:
        module = importlib.import_module(module_name)
    example.namespace.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    page.modules.append(module_name)
    return True


def _run_test_file(example: Example, path: Path) -> None:
    """A ``# tests/test_….py`` block is a test module: pytest runs it, as a reader would."""
    import subprocess

    page = example.namespace["docs_page"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.parsed)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(page.tmp), str(ROOT / "backend"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(page.tmp),
            "-c",
            os.devnull,
            "-p",
            "no:asyncio",
            str(path),
        ],
        cwd=page.tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def evaluate_python(example: Example) -> None:
    # Sybil puts pytest's ``request`` in the namespace before every example; examples
    # mean a view's request, which a hidden block provides as ``docs_request``.
    if "docs_request" in example.namespace:
        example.namespace["request"] = example.namespace["docs_request"]
    before = example.namespace.get("DJANGO_AUTOMATE")
    if not _import_file_block(example):
        _python(example)
    after = example.namespace.get("DJANGO_AUTOMATE")
    if after is not None and after is not before:
        problems = _automate_errors(after)
        assert not problems, "the settings example fails manage.py check:\n" + "\n".join(problems)


class PythonParser(PythonCodeBlockParser):
    def __init__(self) -> None:
        # Doctest output may be wrapped to fit the page.
        super().__init__(doctest_optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        self.codeblock_parser = CodeBlockParser("python", evaluate_python)


# ---------------------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------------------


def _json_values(text: str) -> list[Any]:
    """The JSON values in a block: one, several one after another, or an object fragment."""
    decoder = json.JSONDecoder()
    try:
        values, index = [], 0
        while index < len(text):
            while index < len(text) and text[index].isspace():
                index += 1
            if index == len(text):
                break
            value, index = decoder.raw_decode(text, index)
            values.append(value)
        return values
    except json.JSONDecodeError:
        return [json.loads("{" + text + "}")]  # a fragment: "key": value, …


def _connector_exists(code: str, action: str) -> bool:
    from automate.connectors import connector_exists

    return connector_exists(code, action)


def _check_json(value: Any) -> list[str]:
    import jsonschema

    from automate.workflows.graph import graph_problems
    from automate.workflows.schema import load_schema
    from automate.workflows.services import definition_problems

    if not isinstance(value, dict):
        return []
    if "slug" in value and "graph" in value:  # a workflow file
        errors = [
            e.message for e in jsonschema.Draft202012Validator(load_schema()).iter_errors(value)
        ]
        problems = definition_problems(
            trigger_spec=value["trigger_spec"],
            rule_spec=value.get("rule_spec"),
            graph=value["graph"],
        )
        return errors + [f"{p.get('field')}: {p['message']}" for p in problems]
    if "nodes" in value and "edges" in value:  # a graph
        return [p["message"] for p in graph_problems(value, connector_exists=_connector_exists)]
    if isinstance(value.get("id"), str) and isinstance(value.get("type"), str):  # one node
        nodes = [value] if value["type"] == "trigger" else [{"id": "t", "type": "trigger"}, value]
        edges = [] if value["type"] == "trigger" else [{"source": "t", "target": value["id"]}]
        return [
            p["message"]
            for p in graph_problems(
                {"nodes": nodes, "edges": edges}, connector_exists=_connector_exists
            )
        ]
    if "trigger_spec" in value and isinstance(value["trigger_spec"], dict):
        from automate.workflows.specs import trigger_problems

        return [p["message"] for p in trigger_problems(value["trigger_spec"])]
    return []


def evaluate_json(example: Example) -> None:
    """Parse and validate; the last value is ``docs_json`` for the page's hidden blocks."""
    for value in _json_values(example.parsed):
        example.namespace["docs_json"] = value
        problems = _check_json(value)
        assert not problems, "the JSON example is refused by the product:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------
# sh
# ---------------------------------------------------------------------------------------

_MANAGE = re.compile(r"(?:^|\s)(?:\S*python\S*\s+)?(?:\./)?manage\.py\s+(?P<args>.*)$")


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def _strip_comment(line: str) -> str:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|<")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return " ".join(shlex.quote(t) if t not in ("|", "<") else t for t in lexer)


def run_manage_py(line: str, cwd: Path) -> str:
    """Run one ``… manage.py …`` line in-process; returns what it printed."""
    from django.core.management import call_command

    stdin_text = "doc-example-secret-value\n"
    if "|" in line:
        feed, line = line.split("|", 1)
        words = shlex.split(feed)
        if words[:1] in (["printf"], ["echo"]):
            stdin_text = os.path.expandvars(words[-1])
    if "<" in line:
        line, source = line.split("<", 1)
        stdin_text = (cwd / source.strip()).read_text()
    match = _MANAGE.search(line)
    assert match, f"not a manage.py command: {line}"
    words = [os.path.expandvars(word) for word in shlex.split(match["args"])]
    if words[:1] == ["automate_worker"] and "--once" not in words:
        words.append("--once")  # a worker runs until stopped: run what is due, then exit
    if words[:2] == ["automate_secrets", "delete"] and "--yes" not in words:
        stdin_text = words[2] + "\n"  # it asks for the name, typed back
    out = io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin_text)
    try:
        call_command(*words, stdout=out, stderr=out)
    finally:
        sys.stdin = saved
    return out.getvalue()


def evaluate_shell(example: Example) -> None:
    page = example.namespace["docs_page"]
    cwd = page.tmp
    for raw in _logical_lines(example.parsed):
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("export "):
            for assignment in shlex.split(raw[len("export ") :], comments=True):
                name, _, value = assignment.partition("=")
                page.env.setenv(name, value)
            continue
        words = shlex.split(line)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value command
            name, _, value = words.pop(0).partition("=")
            page.env.setenv(name, value)
        if "manage.py" in line:
            run_manage_py(line, cwd)
            continue
        if words[:2] == ["python", "-c"]:
            import subprocess

            subprocess.run([sys.executable, "-c", words[2]], check=True, capture_output=True)
            continue
        raise AssertionError(
            f"{line!r} is not a manage.py command, so this test cannot run it: precede the "
            'block with <!-- skip: next "why it cannot run here" -->'
        )


# ---------------------------------------------------------------------------------------
# the pytest hook
# ---------------------------------------------------------------------------------------

docs_sybil = Sybil(
    parsers=[
        SkipParser(),
        PythonParser(),
        CodeBlockParser("json", evaluate_json),
        CodeBlockParser("sh", evaluate_shell),
        CodeBlockParser("bash", evaluate_shell),
    ],
    path=str(ROOT),
    patterns=["README.md", "docs/howto/*.md", "docs/reference/*.md"],
    excludes=["docs/howto/embed.md"],
    fixtures=["docs_page"],
    name="docs",
)
