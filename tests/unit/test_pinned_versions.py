"""Every dependency is installed at one exact version (constraints.txt for the development machine
and the CLI, constraints-fc.txt for the Function Compute package), so test results and benchmark
figures do not drift between runs and machines."""
import re
from importlib import metadata
from pathlib import Path
from typing import Dict, List

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> List[str]:
    """The distributions a requirements file names, following `-r other.txt`."""
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            names += requirement_names(path.parent / line[3:].strip())
            continue
        match = NAME.match(line)
        assert match, "%s: cannot read the requirement %r" % (path.name, line)
        names.append(normalized(match.group(1)))
    return names


def pins(path: Path) -> Dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version, "%s: %r is not an exact pin (name==version)" % (path.name, line)
        result[normalized(name)] = version
    return result


def unpinned(requirements: str, constraints: str) -> List[str]:
    pinned = pins(ROOT / constraints)
    return sorted(set(requirement_names(ROOT / requirements)) - set(pinned))


def test_every_requirement_of_the_development_machine_is_pinned():
    assert unpinned("requirements-dev.txt", "constraints.txt") == []


def test_every_requirement_of_the_function_package_is_pinned():
    assert unpinned("requirements-fc.txt", "constraints-fc.txt") == []


def test_a_requirement_without_a_pin_is_found(tmp_path):
    (tmp_path / "requirements.txt").write_text("pydantic>=2.5\nnew-package>=1.0  # just added\n")
    (tmp_path / "constraints.txt").write_text("# pins\npydantic==2.14.4\n")
    pinned = pins(tmp_path / "constraints.txt")
    assert sorted(set(requirement_names(tmp_path / "requirements.txt")) - set(pinned)) == ["new-package"]


def test_a_range_in_a_constraints_file_is_refused(tmp_path):
    (tmp_path / "constraints.txt").write_text("pydantic>=2.5\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        pins(tmp_path / "constraints.txt")


def test_the_installed_packages_are_the_pinned_ones():
    """scripts/setup.sh reinstalls when constraints.txt changes: a mismatch means a stale .venv
    (run scripts/setup.sh) or a constraints file not regenerated after a requirement changed."""
    direct = set(requirement_names(ROOT / "requirements-dev.txt"))
    wrong = []
    for name, version in pins(ROOT / "constraints.txt").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name in direct:
                wrong.append("%s: not installed" % name)
            continue
        if installed != version:
            wrong.append("%s: %s installed, %s pinned" % (name, installed, version))
    assert wrong == []
