"""``python -m bench.readme_table [--write]``: the README's benchmark table from the latest results
(bench/results/latest.json: every row with its goal and met?, the machine, the date, the commit
and the package versions), so the README shows exactly what the last run printed. ``--write``
replaces the text between the README's ``<!-- bench:begin -->`` and ``<!-- bench:end -->``."""
import argparse
import json
import sys
from pathlib import Path

from .report import _fmt

ROOT = Path(__file__).resolve().parents[1]
LATEST = ROOT / "bench" / "results" / "latest.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def markdown(document: dict) -> str:
    machine, packages = document.get("machine", {}), document.get("packages", {})
    lines = ["Latest run: %s, commit %s, `%s`; %s vCPUs `%s`, Python %s, kernel %s." % (
        document.get("date", "?"), machine.get("commit") or "?", document.get("command", "?"), machine.get("nproc"),
        machine.get("cpu") or "?", machine.get("python"), machine.get("kernel")),
        "Packages: %s." % ", ".join("%s %s" % (k, v) for k, v in sorted(packages.items()) if k != "python"), "",
        "| benchmark | ours | reference | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for row in document.get("rows", []):
        unit = (" " + row["unit"]) if row.get("unit") else ""
        met = {True: "yes", False: "**no**", None: "-"}[row.get("met")]
        name = row["benchmark"] + (" (%s)" % row["note"] if row.get("note") else "")
        lines.append("| %s | %s%s | %s%s | %s | %s | %s |" % (
            name.replace("|", "/"), _fmt(row.get("ours")), unit if row.get("ours") is not None else "",
            _fmt(row.get("reference")), unit if row.get("reference") is not None else "", _fmt(row.get("ratio")),
            row.get("goal") or "-", met))
    for name, error in (document.get("errors") or {}).items():
        lines.append("| %s | failed: %s | | | | **no** |" % (name, str(error)[:200].replace("|", "/")))
    return "\n".join(lines) + "\n"


def replaced(readme: str, table: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit("README.md has no %s ... %s section" % (BEGIN, END))
    head, rest = readme.split(BEGIN, 1)
    return head + BEGIN + "\n" + table + rest[rest.index(END):]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readme_table", description=__doc__.split("\n")[0])
    parser.add_argument("--json", default=str(LATEST), help="the results file (default: the latest)")
    parser.add_argument("--write", action="store_true", help="replace the README's table with it")
    args = parser.parse_args(argv)
    table = markdown(json.loads(Path(args.json).read_text()))
    if not args.write:
        sys.stdout.write(table)
        return 0
    tmp = README.with_name(README.name + ".tmp")
    tmp.write_text(replaced(README.read_text(), table))
    tmp.replace(README)                 # atomically: a reader never sees half a README
    return 0


if __name__ == "__main__":
    sys.exit(main())
