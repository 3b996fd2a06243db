"""Golden-file cases: ``<case>.input`` beside ``<case>.expected`` under tests/unit/golden/<kind>/.

``IMAGE_REPAIR_UPDATE_GOLDEN=1`` writes the missing ``.expected`` files from the current output
(for a new case; review them before committing). Existing expected files are never overwritten,
so a regression always fails."""
import os

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def cases(kind, suffix=".input"):
    folder = os.path.join(GOLDEN, kind)
    return sorted(name[:-len(suffix)] for name in os.listdir(folder) if name.endswith(suffix))


def read(kind, name):
    with open(os.path.join(GOLDEN, kind, name), "rb") as handle:
        return handle.read().decode("utf-8")


def check(kind, case, actual, suffix=".expected"):
    """Assert ``actual`` equals the golden text (byte for byte, CRLF and final newline included)."""
    path = os.path.join(GOLDEN, kind, case + suffix)
    if not os.path.exists(path) and os.environ.get("IMAGE_REPAIR_UPDATE_GOLDEN") == "1":
        with open(path, "wb") as handle:
            handle.write(actual.encode("utf-8"))
    with open(path, "rb") as handle:
        expected = handle.read().decode("utf-8")
    assert actual == expected, "golden %s/%s%s differs:\n--- expected\n%s\n--- actual\n%s" % (
        kind, case, suffix, expected, actual)
