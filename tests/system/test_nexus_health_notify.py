"""nexus-health-notify.sh for real (bash, curl, jq, the real nexus-status.sh) against the fake Nexus.

A local webhook receiver on 127.0.0.1 records what each alert webhook receives.  A full data
disk (a stand-in ``df``) and a stopped container (a stand-in ``docker``) each notify once, a
check that stays failing is not repeated, recovery notifies once, and the cooldown holds a
flapping check back; no message, argument vector or log line holds a webhook's token.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.render import nexus_alerts
from components.render import nexus_lifecycle as lifecycle
from tests.fakes.nexus import FakeNexus
from tests.support.host_scripts import run, write_script
from tests.support.nexus_host import wrap_tools
from tests.support.nexus_status_host import StatusHost
from tests.support.settings import ADMIN_PASSWORD, make_settings

TOKENS = ("Wecom-Key-5f1c9", "Generic-Token-93ab")
GIB = 1024**3


class Receiver:
    """Webhook receiver: records (path, JSON body) and answers like WeCom (errcode 0), or ``status``."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((self.path, json.loads(body)))
                answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class NotifierHost:
    def __init__(self, tmp_path: Path, fake: FakeNexus, receiver: Receiver):
        self.tmp = tmp_path
        (tmp_path / "status").mkdir()
        self.status = StatusHost(tmp_path / "status", fake)  # the real nexus-status.sh and what it reads
        self.script = write_script(tmp_path, nexus_alerts.host_files(make_settings("lab"))[0])
        self.bin_dir, self.argv_log = wrap_tools(tmp_path, ("curl", "jq"))
        self.full = tmp_path / "disk-full"
        self.stopped = tmp_path / "container-stopped"
        (self.bin_dir / "df").write_text(
            "#!/usr/bin/env bash\n"  # df -P -B1 <dir>, as nexus-status.sh asks it
            'echo "Filesystem 1-blocks Used Available Capacity Mounted on"\n'
            f'if [[ -e {self.full} ]]; then echo "/dev/loop0 {20 * GIB} {19 * GIB} {GIB} 95% /srv/nexus"\n'
            f'else echo "/dev/loop0 {20 * GIB} {4 * GIB} {16 * GIB} 20% /srv/nexus"; fi\n')
        (self.bin_dir / "docker").write_text(
            "#!/usr/bin/env bash\n"  # docker inspect --format '{{.State.Running}}' nexus
            f'[[ $1 == inspect ]] || exit 1\nif [[ -e {self.stopped} ]]; then echo false; else echo true; fi\n')
        for name in ("df", "docker"):
            (self.bin_dir / name).chmod(0o755)
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        webhooks = secrets / "alert-webhooks"
        webhooks.write_text(f"wecom {receiver.url}/cgi-bin/webhook/send?key={TOKENS[0]}\n"
                            f"generic {receiver.url}/hook?token={TOKENS[1]}\n")
        webhooks.chmod(0o600)
        self.secrets = secrets
        upstreams = tmp_path / "upstreams.tsv"
        upstreams.write_text(f"docker-proxy\tnexus.dockerHubRemote\t{fake.url}/upstream/docker-proxy\n")
        self.upstreams = upstreams
        self.now = int(time.time())

    def run(self, minutes_later: int = 5):
        self.now += minutes_later * 60
        status = self.status
        env = {"NEXUS_URL": status.fake.url, "NEXUS_DATA_DIR": str(status.data), "NEXUS_DISK": "/srv/nexus",
               "NGINX_SITE_CONF": str(status.site), "LC_ALL": "C", "NEXUS_NOW": str(self.now),
               "NEXUS_STATUS_SCRIPT": str(status.script), "NEXUS_SECRETS_DIR": str(self.secrets),
               "NEXUS_STATE_DIR": str(self.tmp / "state"), "NEXUS_UPSTREAMS_FILE": str(self.upstreams),
               "NEXUS_UPSTREAM_TIMEOUT": "2", "DOCKER": str(self.bin_dir / "docker")}
        # The status script reads its admin password from the same secrets directory.
        (self.secrets / "nexus-admin-password").write_text(ADMIN_PASSWORD)
        result = run(self.script, env, self.bin_dir, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture
def fake(start_nexus):
    nexus = start_nexus(admin_password=ADMIN_PASSWORD)
    nexus.blob_stores["default"]["softQuota"] = lifecycle.blob_store_quota(make_settings("dev"))
    return nexus


@pytest.fixture
def receiver():
    hooks = Receiver()
    yield hooks
    hooks.stop()


def messages(receiver: Receiver, path_prefix: str = "/hook") -> list[dict]:
    return [body for path, body in receiver.received if path.startswith(path_prefix)]


def test_a_full_disk_and_a_stopped_container_each_notify_once_and_recovery_once(tmp_path, fake, receiver):
    host = NotifierHost(tmp_path, fake, receiver)
    host.run()
    assert receiver.received == []  # healthy: nothing to say

    host.full.touch()
    out = host.run().stdout
    generic = messages(receiver)
    assert len(generic) == 1 and [f["check"] for f in generic[0]["failing"]] == ["disk /srv/nexus"]
    assert generic[0]["recovered"] == [] and generic[0]["stack"] == "lab"
    assert "notified webhook 1 (wecom)" in out and "notified webhook 2 (generic)" in out
    wecom = messages(receiver, "/cgi-bin/webhook/send")
    assert len(wecom) == 1 and wecom[0]["msgtype"] == "text"
    assert "FAILING  disk " in wecom[0]["text"]["content"] and "(95 %)" in wecom[0]["text"]["content"]

    host.run()  # still full: not repeated
    assert len(messages(receiver)) == 1

    host.stopped.touch()
    host.run()
    generic = messages(receiver)
    assert len(generic) == 2 and [f["check"] for f in generic[1]["failing"]] == ["container nexus"]

    host.full.unlink()
    host.stopped.unlink()
    host.run()
    generic = messages(receiver)
    assert len(generic) == 3 and generic[2]["failing"] == []
    assert sorted(generic[2]["recovered"]) == sorted(["container nexus", "disk /srv/nexus"])
    host.run()
    assert len(messages(receiver)) == 3

    bodies = [body for _path, body in receiver.received]  # the paths are the webhook URLs themselves
    everything = json.dumps(bodies) + host.argv_log.read_text() + out
    assert not any(token in everything for token in TOKENS)


def test_a_flapping_check_waits_for_the_cooldown(tmp_path, fake, receiver):
    host = NotifierHost(tmp_path, fake, receiver)
    host.stopped.touch()
    host.run()
    host.stopped.unlink()
    host.run()
    assert [len(m["failing"]) for m in messages(receiver)] == [1, 0]  # failing, then recovered
    host.stopped.touch()
    host.run()  # failing again 5 minutes after its last message: held back
    assert len(messages(receiver)) == 2
    host.run(minutes_later=60)  # the cooldown is over and it still fails: told now
    generic = messages(receiver)
    assert len(generic) == 3 and [f["check"] for f in generic[2]["failing"]] == ["container nexus"]


def test_an_upstream_that_stops_answering_and_an_undelivered_message_is_retried(tmp_path, fake, receiver):
    host = NotifierHost(tmp_path, fake, receiver)
    fake.upstream_status["docker-proxy"] = 502
    receiver.status = 500  # both receivers fail: the news is kept for the next run
    result = host.run()
    assert "did not take the message" in result.stderr
    receiver.status = 200
    host.run()
    generic = messages(receiver)
    assert [f["check"] for f in generic[-1]["failing"]] == ["upstream docker-proxy"]
    assert "nexus-registry:nexus.dockerHubRemote" in generic[-1]["failing"][0]["detail"]
    assert len([m for m in generic if m["failing"]]) == 2  # the failed attempt, then the delivered one
