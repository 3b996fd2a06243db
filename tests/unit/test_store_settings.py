import re

import pytest

from image_repair.control.store import StoreConfigError, StoreSettings, open_store, store_settings_from_env
from image_repair.control.store.sqlite import SQLiteStore

FC_ENV = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
          "ALIBABA_CLOUD_SECURITY_TOKEN": "sts", "FC_REGION": "cn-hangzhou"}


def test_default_is_sqlite_under_the_state_home():
    settings = store_settings_from_env({"XDG_STATE_HOME": "/srv/state"})
    assert settings == StoreSettings(backend="sqlite", sqlite_path="/srv/state/image-repair/state.db")


def test_sqlite_url_is_a_path():
    assert store_settings_from_env({"IMAGE_REPAIR_STORE": "sqlite:///var/lib/x/state.db"}).sqlite_path \
        == "/var/lib/x/state.db"


def test_tablestore_url_with_fc_credentials_and_vpc_endpoint():
    settings = store_settings_from_env({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", **FC_ENV})
    assert (settings.instance, settings.table) == ("repairs", "state")
    assert settings.endpoint == "https://repairs.cn-hangzhou.vpc.tablestore.aliyuncs.com"
    assert (settings.access_key_id, settings.security_token) == ("LTAI-id", "sts")
    explicit = store_settings_from_env({"IMAGE_REPAIR_STORE": "tablestore://repairs/state",
                                        "TABLESTORE_ENDPOINT": "https://repairs.cn-hangzhou.ots.aliyuncs.com", **FC_ENV})
    assert explicit.endpoint == "https://repairs.cn-hangzhou.ots.aliyuncs.com"


@pytest.mark.parametrize("env, message", [
    ({"IMAGE_REPAIR_STORE": "mysql://x"}, "expected sqlite:///path or tablestore://instance/table"),
    ({"IMAGE_REPAIR_STORE": "sqlite://"}, "expected sqlite:///path/to/file.db"),
    ({"IMAGE_REPAIR_STORE": "tablestore://only-instance", **FC_ENV}, "expected tablestore://<instance>/<table>"),
    ({"IMAGE_REPAIR_STORE": "tablestore://inst/t", "ALIBABA_CLOUD_ACCESS_KEY_ID": "k",
      "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}, "needs TABLESTORE_ENDPOINT or FC_REGION"),
    # Tablestore's naming rules (control/store/tablestore_names.py)
    ({"IMAGE_REPAIR_STORE": "tablestore://ab/t", **FC_ENV}, "3 to 16 letters, digits or hyphens"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs-/t", **FC_ENV}, "does not end with a hyphen"),
    ({"IMAGE_REPAIR_STORE": "tablestore://9repairs/t", **FC_ENV}, "starts with a letter"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/1state", **FC_ENV}, "does not start with a digit"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state-x", **FC_ENV}, "letters, digits or underscores"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/s/x", **FC_ENV}, "expected tablestore://<instance>/<table>"),
    # the endpoint: bounded, a URL without a path, https unless it is a loopback emulator
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "repairs.cn-hangzhou.ots.aliyuncs.com",
      **FC_ENV}, "expected https://<instance>.<region>.ots.aliyuncs.com or, for the emulator, http://127.0.0.1:PORT"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state",
      "TABLESTORE_ENDPOINT": "http://repairs.cn-hangzhou.ots.aliyuncs.com", **FC_ENV}, "plain http only to a loopback"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "http://10.0.0.5:8765", **FC_ENV},
     "plain http only to a loopback"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state",
      "TABLESTORE_ENDPOINT": "https://other.cn-hangzhou.ots.aliyuncs.com", **FC_ENV},
     "the endpoint is instance other's, but IMAGE_REPAIR_STORE names instance repairs"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "http://127.0.0.1:8765/PutRow",
      **FC_ENV}, "no path, query or fragment"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "http://127.0.0.1:99999", **FC_ENV},
     "not a URL"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "https://u:p@repairs.example",
      **FC_ENV}, "expected https://"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", "TABLESTORE_ENDPOINT": "https://" + "a" * 600, **FC_ENV},
     "longer than 512 characters"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state", **dict(FC_ENV, FC_REGION="cn hangzhou")},
     "FC_REGION=cn hangzhou: expected a region ID"),
    ({"IMAGE_REPAIR_STORE": "tablestore://repairs/state\nx", **FC_ENV}, "control characters are not allowed"),
    ({"IMAGE_REPAIR_STORE": "tablestore://" + "x" * 5000, **FC_ENV}, "IMAGE_REPAIR_STORE: longer than 4096"),
])
def test_bad_configuration_is_a_clear_error(env, message):
    with pytest.raises(StoreConfigError, match=re.escape(message)) as raised:
        store_settings_from_env(env)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 400


@pytest.mark.parametrize("given, used", [
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),              # the emulator
    ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),             # the SDK appends /<Operation>
    ("http://localhost:8765", "http://localhost:8765"),
    ("http://[::1]:8765", "http://[::1]:8765"),
    ("https://Repairs.cn-hangzhou.ots.aliyuncs.com", "https://repairs.cn-hangzhou.ots.aliyuncs.com"),
    ("https://repairs.cn-hangzhou.vpc.tablestore.aliyuncs.com", "https://repairs.cn-hangzhou.vpc.tablestore.aliyuncs.com"),
    ("https://repairs.cn-hangzhou.ots-internal.aliyuncs.com", "https://repairs.cn-hangzhou.ots-internal.aliyuncs.com"),
    ("https://tablestore.internal.example:443", "https://tablestore.internal.example:443"),   # a proxy: https
])
def test_the_endpoint_override_takes_the_sdks_forms_and_the_emulators(given, used):
    settings = store_settings_from_env({"IMAGE_REPAIR_STORE": "tablestore://repairs/state",
                                        "TABLESTORE_ENDPOINT": given, **FC_ENV})
    assert settings.endpoint == used and (settings.instance, settings.table) == ("repairs", "state")


def test_open_store_reads_the_environment_only_when_called(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "sub" / "state.db"))
    store = open_store()
    assert isinstance(store, SQLiteStore)
    store.create_execution("exec-1", "m-1")
    assert (tmp_path / "sub" / "state.db").exists()


def test_tablestore_without_any_credentials_is_a_clear_error(tmp_path):
    """No keys in the environment and nothing else in the SDKs' credential chain (in a fresh process:
    alibabacloud_credentials reads the environment once, at import)."""
    import os
    import subprocess
    import sys
    code = ("from image_repair.control.store import store_settings_from_env, StoreConfigError\n"
            "try:\n    store_settings_from_env({'IMAGE_REPAIR_STORE': 'tablestore://inst/t', 'FC_REGION': 'cn-hangzhou'})\n"
            "except StoreConfigError as error:\n    print(error)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(HOME=str(tmp_path), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    assert out.startswith("Tablestore needs credentials: MissingCredentials"), out
