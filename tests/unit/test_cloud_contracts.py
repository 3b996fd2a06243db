"""docs/cloud-contracts.md: every row names its source and at least one test, and every test it
names exists (the file, and a test function of that name in it). A contract whose test is renamed
or deleted fails here instead of silently losing its pin."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cloud-contracts.md"
TEST_ID = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")          # markdown: an escaped \| stays inside its cell


def rows(doc: Path = DOC) -> list:
    found, header = [], None
    for number, line in enumerate(doc.read_text().splitlines(), start=1):
        if not line.startswith("|") or set(line.replace("|", "").strip()) <= set("-: "):
            continue
        cells = [c.strip() for c in CELL_SEPARATOR.split(line.strip().strip("|"))]
        if cells[:3] == ["contract", "source", "pinned by"]:
            header = cells
            continue
        assert header is not None, "line %d: a table row before its header" % number
        assert len(cells) == len(header), "line %d has %d cells, not %d" % (number, len(cells), len(header))
        found.append((number, dict(zip(header, cells))))
    return found


def defined_tests(path: str) -> set:
    tree = ast.parse((ROOT / path).read_text())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")}


def unpinned(doc: Path = DOC) -> list:
    """Rows without a source or a test, and named tests that do not exist."""
    problems = []
    for number, row in rows(doc):
        if not row.get("source") or row["source"] in ("-", ""):
            problems.append("line %d: no source" % number)
        pins = TEST_ID.findall(row.get("pinned by", ""))
        if not pins:
            problems.append("line %d: no test named" % number)
        for path, name in pins:
            if not (ROOT / path).exists() or name not in defined_tests(path):
                problems.append("line %d: %s::%s does not exist" % (number, path, name))
    return problems


def test_every_row_has_a_source_and_a_test_that_exists():
    assert len(rows()) >= 80
    assert unpinned() == []


def test_a_row_whose_test_is_gone_is_found(tmp_path):
    fake = tmp_path / "cloud-contracts.md"
    fake.write_text("| contract | source | pinned by | unverified |\n|---|---|---|---|\n"
                    "| x \\| y | a doc | `tests/unit/test_cloud_contracts.py::test_that_does_not_exist` | - |\n"
                    "| z | | nothing | - |\n")
    assert unpinned(fake) == ["line 3: tests/unit/test_cloud_contracts.py::test_that_does_not_exist does not exist",
                              "line 4: no source", "line 4: no test named"]
