"""The README's benchmark table is the last run's (bench/results/latest.json), machine, date,
commit and package versions included (issue 12: "the README shows the latest table")."""
import json

import pytest

from bench import readme_table

pytestmark = pytest.mark.unit


def test_the_readme_shows_the_latest_results_table():
    readme = readme_table.README.read_text()
    table = readme_table.markdown(json.loads(readme_table.LATEST.read_text()))
    assert readme_table.replaced(readme, table) == readme, "run: python -m bench.readme_table --write"


def test_the_table_names_the_machine_date_commit_packages_and_every_goal():
    document = {"date": "2026-12-03T19:00:00Z", "command": "python -m bench", "errors": {"agent": "boom"},
                "machine": {"commit": "abc1234", "nproc": 2, "cpu": "Xeon", "python": "3.11.7", "kernel": "6.1"},
                "packages": {"python": "3.11.7", "pydantic": "2.9.2", "tablestore": "6.4.8"},
                "rows": [{"benchmark": "1 a | b", "ours": 1.5, "reference": 2.0, "ratio": 0.75, "goal": "<= 0.8 x",
                          "met": True, "unit": "s", "note": "p90 0.9"},
                         {"benchmark": "2 c", "ours": None, "reference": None, "ratio": 1.2, "goal": "<= 1.0",
                          "met": False, "unit": "", "note": ""}]}
    table = readme_table.markdown(document)
    assert "2026-12-03T19:00:00Z" in table and "abc1234" in table and "pydantic 2.9.2" in table
    assert "| 1 a / b (p90 0.9) | 1.500 s | 2.000 s | 0.750 | <= 0.8 x | yes |" in table
    assert "| 2 c | - | - | 1.200 | <= 1.0 | **no** |" in table
    assert "| agent | failed: boom |" in table
    with pytest.raises(SystemExit):
        readme_table.replaced("no markers here", table)
