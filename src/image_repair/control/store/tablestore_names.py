"""Tablestore's naming rules and endpoint forms, without the SDK (the settings and the emulator's
``serve`` command check names with them before anything is sent).

Source: "What are the naming conventions of tables, columns, and instances?"
(https://www.alibabacloud.com/help/en/tablestore/support/what-are-the-naming-conventions-of-tables-columns-and-instances):
an instance name has 3 to 16 letters, digits and hyphens, starts with a letter, does not end with a
hyphen, and is case-insensitive; a table name has 1 to 255 letters, digits and underscores and does
not start with a digit. Endpoints ("Endpoints", https://www.alibabacloud.com/help/doc-detail/52671.htm):
``https://<instance>.<region>.ots.aliyuncs.com`` (public), ``.vpc.tablestore.`` (VPC),
``.ots-internal.`` (classic network), ``.tablestore.`` (dual-stack public).
"""
import re
from typing import Optional

INSTANCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,15}(?<!-)")
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
# <instance>.<region>.<network>.aliyuncs.com, lower case (hosts are compared lower-cased)
CLOUD_ENDPOINT_HOST = re.compile(r"(?P<instance>[a-z][a-z0-9-]{1,14}[a-z0-9])\.(?P<region>[a-z0-9-]{1,63})\."
                                 r"(?:ots|ots-internal|vpc\.tablestore|tablestore)\.aliyuncs\.com")
ENDPOINT_FORMS = {
    "public": "https://%s.%s.ots.aliyuncs.com",
    "vpc": "https://%s.%s.vpc.tablestore.aliyuncs.com",
}


def instance_name_problem(name: str) -> Optional[str]:
    """Why ``name`` is not a Tablestore instance name (None: it is one)."""
    if INSTANCE_NAME.fullmatch(name):
        return None
    return "an instance name has 3 to 16 letters, digits or hyphens, starts with a letter and does not end with a hyphen"


def table_name_problem(name: str) -> Optional[str]:
    """Why ``name`` is not a Tablestore table name (None: it is one)."""
    if TABLE_NAME.fullmatch(name):
        return None
    return "a table name has 1 to 255 letters, digits or underscores and does not start with a digit"
