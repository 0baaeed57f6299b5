"""``make up``/``make preview``/``make preflight`` (scripts/up.sh) with the preflight: it runs first, before any
question or pulumi command, can be skipped, answers in seconds without network, and a COS backend gets the S3
client settings COS needs.  Uses the repository copy and stand-ins of tests/support/up_scripts.py."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.up_scripts import PASSPHRASE, run
from tests.tencent_api_fake import SECRET_ID, SECRET_KEY

CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
COS_URL = "s3://team-state-1250000000?region=ap-guangzhou&endpoint=https://cos.ap-guangzhou.myqcloud.com"


def test_make_up_runs_the_preflight_first_and_stops_before_any_question(repo):  # noqa: F811
    result = run(repo, "up.sh", "dev", "up", env_extra={"PREFLIGHT": "1"})
    assert result.returncode == 2
    assert result.calls == []  # no pulumi, no curl: nothing ran and nothing was asked
    assert "passphrase" not in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith("preflight: TENCENTCLOUD")]
    assert problems == [
        "preflight: TENCENTCLOUD_SECRET_ID: is not set: export the API key Pulumi's tencentcloud provider uses "
        "(README: A sub-account key)",
        "preflight: TENCENTCLOUD_SECRET_KEY: is not set: export the API key Pulumi's tencentcloud provider uses "
        "(README: A sub-account key)"]
    assert result.stderr.splitlines()[-1] == "make up: the preflight found the problems above (README: Preflight)"
    assert result.seconds < 15


def test_preflight_zero_skips_it(repo):  # noqa: F811
    result = run(repo, "up.sh", "dev", "preview", stdin="", env_extra={"PREFLIGHT": "0",
                                                                      "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert "preflight" not in result.stderr
    assert any(call.startswith("stack select dev") for call in result.calls)


def test_a_stack_without_tencent_resources_has_no_automatic_preflight(repo):  # noqa: F811
    key = repo.parent / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n")
    result = run(repo, "up.sh", "lab", "preview", stdin="Correct-Horse-Battery-9\nCi-Push-Password-17\n",
                 env_extra={"PREFLIGHT": "1", "SSH_KEY_FILE": str(key), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert "preflight" not in result.stdout + result.stderr
    assert not any(call.startswith("ssh") for call in result.calls)  # make up's preflight contacted nothing


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_without_network_make_preflight_fails_in_seconds_with_one_line(repo, tmp_path):  # noqa: F811
    """In a network namespace with no network at all (nothing leaves this machine)."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    assert probe.returncode == 0, f"unshare -n is not permitted here: {probe.stderr!r}"
    wrapper = tmp_path / "offline-bash"
    wrapper.write_text('#!/bin/sh\nexec unshare -n bash "$@"\n')
    wrapper.chmod(0o755)
    result = run(repo, "up.sh", "dev", "preflight", env_extra=CREDENTIALS, shell=str(wrapper))
    assert result.returncode == 2
    assert result.seconds < 20, f"{result.seconds:.1f} s"
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("preflight:")]
    assert line.startswith("preflight: the Tencent Cloud API (https://sts.tencentcloudapi.com) could not be "
                           "reached: ")
    assert "skip the preflight with PREFLIGHT=0" in line
    assert result.calls == []


def test_a_cos_backend_gets_the_checksum_settings_cos_needs(repo):  # noqa: F811
    result = run(repo, "up.sh", "dev", "preview", stdin="", env_extra={
        "PULUMI_BACKEND_URL": COS_URL, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.pulumi_env and set(result.pulumi_env) == {
        f"{word} AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required"
        for word in {line.split()[0] for line in result.pulumi_env}}
    (repo.parent / "calls.env").unlink()
    other = run(repo, "up.sh", "dev", "preview", stdin="", env_extra={
        "PULUMI_BACKEND_URL": "s3://state-bucket?region=us-east-1", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert other.pulumi_env and all("=unset" in line for line in other.pulumi_env)  # AWS's own S3: SDK defaults


def test_a_users_own_checksum_setting_is_kept(repo):  # noqa: F811
    result = run(repo, "up.sh", "dev", "preview", stdin="", env_extra={
        "PULUMI_BACKEND_URL": COS_URL, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported"})
    assert result.pulumi_env and all("CALCULATION=when_supported" in line for line in result.pulumi_env)
