"""The agent is standard library only, Python 3.6 compatible, and builds into one zipapp."""
import ast
import base64
import os
import subprocess
import sys
import zipfile
import io

import image_repair
from image_repair.control import agent_build

AGENT_DIR = os.path.join(os.path.dirname(image_repair.__file__), "agent")


def agent_files():
    for folder, _dirs, files in os.walk(AGENT_DIR):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def vermin_36(*paths):
    """vermin's verdict for "runs on Python 3.6" (target 3.6 or lower), as (exit status, output)."""
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "vermin"), "--target=3.6-", "--violations", "--no-tips", "--eval-annotations"]
        + list(paths), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def test_agent_is_python36_compatible():
    status, output = vermin_36(AGENT_DIR, os.path.join(os.path.dirname(AGENT_DIR), "__init__.py"))
    assert status == 0, output


def test_the_python36_check_catches_newer_code(tmp_path):
    # The check above must be able to fail: code using 3.7+ features is rejected.
    newer = tmp_path / "newer.py"
    newer.write_text("import subprocess\nsubprocess.run(['true'], capture_output=True)\nprint(f'{1=}')\n")
    status, output = vermin_36(str(newer))
    assert status != 0, output


def test_agent_imports_only_the_standard_library():
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in agent_files():
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] not in stdlib:
                    offenders.append("%s imports %s" % (os.path.relpath(path, AGENT_DIR), name))
    assert not offenders, offenders


def test_zipapp_holds_only_the_agent_and_runs(tmp_path):
    data = agent_build.build_zipapp()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "__main__.py" in names
    assert all(n == "__main__.py" or n == "image_repair/__init__.py" or n.startswith("image_repair/agent/")
               for n in names), names
    assert "image_repair/agent/cli.py" in names
    target = tmp_path / "agent.pyz"
    target.write_bytes(data)
    # Bad input through the zipapp itself: exit status 2 and a clear message.
    result = subprocess.run([sys.executable, str(target), "repair-disk", "--items", "bogus", "/nonexistent"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 2, result.stderr
    assert "unknown repair item" in result.stdout + result.stderr
    # Each SendFile chunk stays within 32 KB after base64, and the chunks cover the whole file.
    raw_chunk = agent_build.SENDFILE_LIMIT // 4 * 3
    assert len(base64.b64encode(b"x" * raw_chunk)) <= agent_build.SENDFILE_LIMIT
    assert agent_build.sendfile_chunks(data) * raw_chunk >= len(data) > (agent_build.sendfile_chunks(data) - 1) * raw_chunk


def test_zipapp_is_deterministic():
    assert agent_build.build_zipapp() == agent_build.build_zipapp()
