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
    ({"IMAGE_REPAIR_STORE": "tablestore://i/t", "ALIBABA_CLOUD_ACCESS_KEY_ID": "k",
      "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}, "needs TABLESTORE_ENDPOINT or FC_REGION"),
])
def test_bad_configuration_is_a_clear_error(env, message):
    with pytest.raises(StoreConfigError, match=message.replace("(", r"\(")):
        store_settings_from_env(env)


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
            "try:\n    store_settings_from_env({'IMAGE_REPAIR_STORE': 'tablestore://i/t', 'FC_REGION': 'cn-hangzhou'})\n"
            "except StoreConfigError as error:\n    print(error)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(HOME=str(tmp_path), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    assert out.startswith("Tablestore needs credentials: MissingCredentials"), out
