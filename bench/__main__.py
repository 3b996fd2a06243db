"""``python -m bench [--only NAMES] [--repeats N] [--agent-repeats N] [--json PATH]``: run the
benchmarks, print one table, write the JSON (bench/results/latest.json by default).

NAMES (comma-separated): workflow (1 and 2: critical path and API calls), coldstart (3),
agent (4, root), sweep (5), demo (6, root: the README's first command, warm), pool (7: many images
through the warm pool of repair hosts). Default: all."""
import argparse
import datetime
import json
import sys
import time
from pathlib import Path

from .report import calls_by_action, goal_summary, machine, package_versions, rows_for, table

BENCHMARKS = ("workflow", "coldstart", "agent", "sweep", "demo", "pool")
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def run(name: str, args) -> dict:
    if name == "workflow":
        from . import workflow
        return workflow.run_all(draws=args.draws)
    if name == "coldstart":
        from . import coldstart
        return coldstart.benchmark(repeats=args.repeats)
    if name == "agent":
        from . import agent_disk
        return agent_disk.benchmark(repeats=args.agent_repeats)
    if name == "sweep":
        from . import sweep
        return sweep.benchmark()
    if name == "demo":
        from . import demo
        return demo.benchmark()
    if name == "pool":
        from . import pool
        return pool.run_all(draws=args.draws, progress=sys.stderr)
    raise ValueError(name)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got %r" % text[:20])
    if not 1 <= value <= 10000:
        raise argparse.ArgumentTypeError("expected 1 to 10000, got %d" % value)
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--repeats", type=int, default=5, help="cold-start measurements per figure (median)")
    parser.add_argument("--draws", type=_positive, default=100,
                        help="seeded latency draws for the workflow benchmark, each fed to both flows")
    parser.add_argument("--agent-repeats", type=int, default=3, help="runs of the agent benchmark (median)")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where the JSON goes")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error("unknown benchmark(s): %s" % ", ".join(unknown))
    results, errors = {}, {}
    for name in names:
        started = time.time()
        print("bench: running %s ..." % name, file=sys.stderr, flush=True)
        try:
            results[name] = run(name, args)
        except Exception as error:  # one failed benchmark must not hide the others' figures
            errors[name] = "%s: %s" % (type(error).__name__, error)
            print("bench: %s failed: %s" % (name, errors[name]), file=sys.stderr, flush=True)
        print("bench: %s took %.1f s" % (name, time.time() - started), file=sys.stderr, flush=True)
    rows = rows_for(results)
    print(table(rows))
    if calls_by_action(results):
        print(calls_by_action(results))
    print(goal_summary(rows))
    for name, error in errors.items():
        print("FAILED %s: %s" % (name, error))
    document = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
                "machine": machine(), "packages": package_versions(), "rows": rows, "errors": errors,
                "results": results}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print("JSON: %s" % path)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
