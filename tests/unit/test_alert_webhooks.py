"""alertWebhooks: validated without repeating a URL, shipped as a root-only secret file with each kind."""

from __future__ import annotations

import pytest

from components.host_layout import ALERT_WEBHOOKS_PATH, HEALTH_SCRIPT, HEALTH_UNIT, SYSTEMD_DIR
from components.render import nexus as render
from components.settings import SettingsError
from tests.support.settings import make_settings

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=Wecom-Token-1"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/Feishu-Token-2"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=Ding-Token-3"
GENERIC = "http://alerts.internal.corp:9093/hook?token=Generic-Token-4"


def test_each_webhook_reaches_the_host_as_a_secret_file_with_its_kind():
    settings = make_settings("lab", alertWebhooks=[WECOM, FEISHU, DINGTALK, GENERIC])
    secrets = dict(render.bootstrap_secret_files(settings))
    assert secrets[ALERT_WEBHOOKS_PATH] == (f"wecom {WECOM}\nfeishu {FEISHU}\ndingtalk {DINGTALK}\n"
                                            f"generic {GENERIC}\n")
    plain = "".join(f.content for f in render.bootstrap_files(settings))
    assert not any(token in plain for token in ("Wecom-Token-1", "Feishu-Token-2", "Ding-Token-3", "Generic-Token-4"))
    assert "Wecom-Token-1" not in repr(settings)


def test_no_webhook_ships_an_empty_file_so_a_removed_one_is_gone_from_the_host():
    assert dict(render.bootstrap_secret_files(make_settings("lab")))[ALERT_WEBHOOKS_PATH] == ""


def test_every_server_gets_the_notifier_and_its_five_minute_timer():
    for stack in ("lab", "dev", "prod"):
        files = {f.path: f.content for f in render.bootstrap_files(make_settings(stack))}
        assert HEALTH_SCRIPT in files
        timer = files[f"{SYSTEMD_DIR}/{HEALTH_UNIT}.timer"]
        assert "OnUnitActiveSec=5min" in timer and "OnBootSec=5min" in timer


@pytest.mark.parametrize("value, key, words", [
    (["ftp://x.example.com/Secret-Token-9"], "alertWebhooks[0]", "is not an http(s) URL"),
    ([WECOM, 'https://x.example.com/a"Secret-Token-9'], "alertWebhooks[1]", "without spaces or quotes"),
    ("https://x.example.com/Secret-Token-9", "alertWebhooks", "is a list of webhook URLs"),
    ([7], "alertWebhooks", "is a list of webhook URLs"),
])
def test_a_bad_webhook_is_named_by_its_key_never_by_its_url(value, key, words):
    with pytest.raises(SettingsError) as error:
        make_settings("lab", alertWebhooks=value)
    message = str(error.value)
    assert f"nexus-registry:{key}:" in message and words in message
    assert "Secret-Token-9" not in message
