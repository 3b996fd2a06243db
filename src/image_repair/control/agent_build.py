"""Build the agent into one zipapp (the steps send it to repair hosts; ``image-repair build-agent``
writes it to a file: cli/build_agent.py).

The zipapp holds ``image_repair/__init__.py`` and ``image_repair/agent/`` only (standard library,
Python 3.6+), compressed. Cloud Assistant's SendFile takes at most 32 KB after base64 per file, so
the control plane sends it in chunks and joins them on the host; ``sendfile_chunks`` says how many.
"""
import io
import math
import os
import zipfile

import image_repair

SENDFILE_LIMIT = 32 * 1024  # bytes of base64 per SendFile call
MAIN = "import sys\nfrom image_repair.agent.cli import main\nsys.exit(main(prog='image-repair-agent'))\n"


def agent_sources():
    """(archive name, path on disk) of every file the agent needs."""
    package_dir = os.path.dirname(os.path.abspath(image_repair.__file__))
    yield "image_repair/__init__.py", os.path.join(package_dir, "__init__.py")
    agent_dir = os.path.join(package_dir, "agent")
    for folder, dirs, files in os.walk(agent_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, os.path.dirname(package_dir)).replace(os.sep, "/"), path


def build_zipapp():
    """The zipapp's bytes (deterministic: fixed timestamps, sorted entries)."""
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        entries = [("__main__.py", None)] + list(agent_sources())
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = MAIN.encode() if path is None else open(path, "rb").read()
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def sendfile_chunks(data):
    """How many SendFile calls the zipapp needs (raw chunk size that stays under the limit)."""
    raw_chunk = SENDFILE_LIMIT // 4 * 3
    return int(math.ceil(len(data) / float(raw_chunk)))
