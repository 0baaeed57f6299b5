"""Stack settings: every shipped stack validates; every bad value names its key, before any resource."""

from __future__ import annotations

import pytest
import yaml

from components import settings as stack_settings
from tests.harness import LAB_HOST_KEY, ROOT, run_stack
from tests.harness import stack_settings as stack_settings_of
from tests.support.settings import setting_keys

NS = "nexus-registry"
CVM = {"mode": "cvm", "cpu": 2, "memoryGb": 8, "sshAllowedCidrs": ["58.246.10.0/24"]}
EXISTING = {"mode": "existing", "address": "10.0.8.15", "hostKey": LAB_HOST_KEY}


def cvm(**changes):
    return {**CVM, **changes}


# (stack, overrides, secrets, expected key, expected words in the message)
BAD_CONFIGURATIONS = [
    ("dev", {"domain": None}, {}, "domain", "required"),
    ("dev", {"domain": "not a domain"}, {}, "domain", "not a DNS name"),
    ("dev", {"domain": "localhost"}, {}, "domain", "not a DNS name"),
    ("dev", {"domain": "example.123"}, {}, "domain", "numeric"),
    ("dev", {"webHost": "Nexus_UI"}, {}, "webHost", "not a DNS label"),
    ("dev", {"registryHost": "-registry"}, {}, "registryHost", "not a DNS label"),
    ("dev", {"webHost": "registry", "registryHost": "registry"}, {}, "registryHost", "must differ from webHost"),
    ("dev", {"dns": "route53"}, {}, "dns", "'dnspod' or 'none'"),
    ("dev", {"certificate": "letsencrypt"}, {}, "certificate",
     "expected 'tencent', 'acme', 'self-signed' or 'ssl-console'"),
    ("dev", {"certificate": "acme"}, {}, "acme.email", "required when certificate is acme"),
    ("dev", {"certificate": "acme", "acme": {"email": "ops-at-widgets-inc.cn"}}, {}, "acme.email", "not an e-mail"),
    ("dev", {"acme": {"email": "ops@widgets-inc.cn", "server": "http://insecure/dir"}}, {}, "acme.server", "https://"),
    ("dev", {"acme": {"email": "ops@widgets-inc.cn", "sever": "letsencrypt"}}, {}, "acme.sever", "not a known setting"),
    ("dev", {"server": None}, {}, "server", "required"),
    ("dev", {"server": {"cpu": 2}}, {}, "server.mode", "'cvm' or 'existing'"),
    ("dev", {"server": {"mode": "vm"}}, {}, "server.mode", "'cvm' or 'existing'"),
    ("dev", {"server": cvm(cpu=128)}, {}, "server.cpu", "1..64"),
    ("dev", {"server": cvm(memoryGb=0)}, {}, "server.memoryGb", "1..512"),
    ("dev", {"server": cvm(dataDiskGb=5)}, {}, "server.dataDiskGb", "10..32000"),
    ("dev", {"server": cvm(systemDiskGb=4096)}, {}, "server.systemDiskGb", "20..1024"),
    ("dev", {"server": cvm(bandwidthMbps=0)}, {}, "server.bandwidthMbps", "1..100"),
    ("dev", {"server": cvm(bandwidthMbps="fast")}, {}, "server.bandwidthMbps", "not a whole number"),
    ("dev", {"server": {"mode": "cvm", "sshAllowedCidrs": ["58.246.10.0/24"]}}, {}, "server",
     "instanceType, or both cpu and memoryGb"),
    ("dev", {"server": cvm(instanceType="S5.MEDIUM4")}, {}, "server", "not both"),
    ("dev", {"server": {**CVM, "cpu": None, "memoryGb": None, "instanceType": "s5 medium"}}, {}, "server.instanceType",
     "not a CVM instance type"),
    ("dev", {"server": cvm(image="windows-2022")}, {}, "server.image", "not a supported image"),
    ("dev", {"server": cvm(sshAllowedCidrs=["10.0.0.0/8", "10.0.0.0/33"])}, {}, "server.sshAllowedCidrs[1]",
     "'10.0.0.0/33' is not a CIDR"),
    ("dev", {"server": cvm(sshAllowedCidrs=["10.1.2.3/8"])}, {}, "server.sshAllowedCidrs[0]", "not a CIDR"),
    ("dev", {"server": cvm(sshAllowedCidrs=["0.0.0.0/0"])}, {}, "server.sshAllowedCidrs[0]", "allowSshFromAnywhere"),
    ("dev", {"server": cvm(sshAllowedCidrs=[])}, {}, "server.sshAllowedCidrs", "must not be empty"),
    ("dev", {"server": cvm(availabilityZone="guangzhou")}, {}, "server.availabilityZone", "not an availability zone"),
    ("dev", {"server": cvm(sshAlowedCidrs=["58.246.10.0/24"])}, {}, "server.sshAlowedCidrs", "not a known setting"),
    ("dev", {"server": cvm(dockerMirror="mirror.ccs.tencentyun.com")}, {}, "server.dockerMirror", "not an http(s) URL"),
    ("lab", {"server": {"mode": "existing", "hostKey": LAB_HOST_KEY}}, {}, "server.address", "required"),
    ("lab", {"server": {**EXISTING, "port": 70000}}, {}, "server.port", "1..65535"),
    ("lab", {"server": {**EXISTING, "user": "Root User"}}, {}, "server.user", "not a Unix user name"),
    ("lab", {"server": {**EXISTING, "address": "not an address!"}}, {}, "server.address", "not an IP address or host"),
    ("lab", {"server": {**EXISTING, "dataDevice": "/dev/vdb"}}, {}, "server.dataDevice", "stable device path"),
    ("lab", {"server": {**EXISTING, "formatDataDevice": True}}, {}, "server.formatDataDevice",
     "needs server.dataDevice"),
    ("lab", {}, {f"{NS}:sshPrivateKey": None}, "sshPrivateKey", "required when server.mode is existing"),
    ("lab", {}, {f"{NS}:sshPrivateKey": "ssh-ed25519 AAAA public"}, "sshPrivateKey",
     "not a PEM or OpenSSH private key"),
    ("lab", {"dns": "dnspod", "server": {**EXISTING, "address": "nexus.widgets-inc.cn"}}, {}, "server.address",
     "must be an IP address when dns is dnspod"),
    ("lab", {"backup": {"retainDays": 7}}, {}, "backup.retainDays", "need server.mode cvm"),
    ("dev", {}, {f"{NS}:adminPassword": None}, "adminPassword", "required"),
    ("dev", {}, {f"{NS}:adminPassword": "short-pw"}, "adminPassword", "at least 12 characters"),
    ("dev", {}, {f"{NS}:adminPassword": "Admin1234567"}, "adminPassword", "well-known default"),
    ("dev", {}, {f"{NS}:adminPassword": "Correct-Horse\tBattery-9"}, "adminPassword", "without control characters"),
    ("dev", {}, {f"{NS}:userPasswords": {"ci": "Ci-Push\x1bPassword-17"}}, "userPasswords.ci",
     "without control characters"),
    ("dev", {"nexus": {"version": "latest"}}, {}, "nexus.version", "never 'latest'"),
    ("dev", {"nexus": {"version": "3"}}, {}, "nexus.version", "not a sonatype/nexus3 release tag"),
    ("dev", {"nexus": {"heapMb": 256}}, {}, "nexus.heapMb", "1024..65536"),
    ("dev", {"nexus": {"heapMb": 2048}}, {}, "nexus.heapMb", "below Sonatype's minimum heap of 2703 MB"),
    ("dev", {"nexus": {"heapMb": 6144}}, {}, "nexus.heapMb", "exceeds two thirds of the server's 8 GB"),
    ("prod", {"nexus": {"heapMb": 12288}}, {}, "nexus.heapMb", "exceeds two thirds of the server's 16 GB"),
    ("dev", {"server": cvm(cpu=None, memoryGb=None, instanceType="S5.MEDIUM4")}, {}, "server.instanceType",
     "4 GB is below Sonatype's minimum of 8 GB"),
    ("dev", {"server": cvm(memoryGb=4)}, {}, "server.memoryGb", "nexus.allowBelowMinimumMemory: true"),
    ("dev", {"nexus": {"version": "3.93.2-01"}}, {}, "nexus.version", "no build suffix"),
    ("dev", {"nexus": {"version": "3.93.2-java21"}}, {}, "nexus.version", "'3.x.y-java17-alpine'"),
    ("dev", {"nexus": {"version": "3.70.1-java8-alpine"}}, {}, "nexus.version", "not a sonatype/nexus3 release tag"),
    ("dev", {"nexus": {"version": "2.15.1"}}, {}, "nexus.version", "not a sonatype/nexus3 release tag"),
    ("dev", {"nexus": {"pypiRemote": "http://169.254.0.23/"}}, {}, "nexus.pypiRemote", "link-local"),
    ("dev", {"nexus": {"yumRemote": "http://metadata.tencentyun.com/latest/"}}, {}, "nexus.yumRemote",
     "metadata service"),
    ("dev", {"nexus": {"dockerHubRemote": "http://[fe80::1]:5000"}}, {}, "nexus.dockerHubRemote", "link-local"),
    ("dev", {"nexus": {"dockerHubRemote": "http://127.0.0.1:5000"}}, {}, "nexus.dockerHubRemote", "loopback"),
    ("dev", {"nexus": {"pypiRemote": "http://[::ffff:169.254.0.23]/"}}, {}, "nexus.pypiRemote", "link-local"),
    ("dev", {"nexus": {"pypiRemote": "http://2852039166/"}}, {}, "nexus.pypiRemote", "not an http(s) URL"),
    ("dev", {"nexus": {"anonymousPull": "sometimes"}}, {}, "nexus.anonymousPull", "not true or false"),
    ("dev", {"nexus": {"dockerHubRemote": "registry-1.docker.io"}}, {}, "nexus.dockerHubRemote", "not an http(s) URL"),
    ("dev", {"nexus": {"dockerHubUsername": "robot"}}, {}, "nexus.dockerHubUsername", "dockerHubToken"),
    ("dev", {"nexus": {"yumProxi": True}}, {}, "nexus.yumProxi", "not a known setting"),
    ("dev", {"protect": "yes please"}, {}, "protect", "not true or false"),
    ("dev", {"renewBeforeDays": 0}, {}, "renewBeforeDays", "1..60"),
    ("dev", {"backup": {"retainDays": -1}}, {}, "backup.retainDays", "0..365"),
    ("dev", {"backup": {"hour": 24}}, {}, "backup.hour", "0..23"),
    ("dev", {"webMaxUploadSize": "1 GB"}, {}, "webMaxUploadSize", "not an nginx size"),
    ("dev", {"domian": "example.org"}, {}, "domian", "not a known setting"),
    ("dev", {"users": [{"name": "reader", "role": "pull"}]}, {f"{NS}:userPasswords": {"reader": "Reader-Password-1"}},
     "users", "at least one user with role push"),
    ("dev", {"users": [{"name": "ci", "role": "owner"}]}, {}, "users[0].role", "'push', 'pull' or 'metrics'"),
    ("dev", {"users": [{"name": "CI Bot", "role": "push"}]}, {}, "users[0].name", "not a user name"),
    ("dev", {"users": [{"name": "admin", "role": "push"}]}, {}, "users[0].name", "Nexus's own user"),
    ("dev", {"users": [{"name": "ci", "role": "push"}, {"name": "ci", "role": "pull"}]}, {}, "users[1].name",
     "listed twice"),
    ("dev", {"users": [{"name": "ci", "role": "push"}, {"name": "bob", "role": "pull"}]}, {}, "userPasswords.bob",
     "pulumi config set --secret --path 'userPasswords.bob'"),
    ("dev", {}, {f"{NS}:userPasswords": {"ci": "short"}}, "userPasswords.ci", "at least 12 characters"),
    ("dev", {}, {f"{NS}:userPasswords": {"ci": "Correct-Horse-Battery-9"}}, "userPasswords.ci",
     "must differ from adminPassword"),
    ("dev", {}, {f"{NS}:userPasswords": {"ci": "Ci-Push-Password-17", "gone": "Gone-Password-123"}},
     "userPasswords.gone", "not in users"),
    ("dev", {"registryMirrorPort": 8081}, {}, "registryMirrorPort", "already used on the host"),
    ("dev", {"registryMirrorPort": 80}, {}, "registryMirrorPort", "1024..65535"),
    ("dev", {"webAllowedCidrs": ["10.0.0.0/8", "10.0.0.1/8"]}, {}, "webAllowedCidrs[1]", "not a CIDR"),
    ("dev", {"registryAllowedCidrs": ["0.0.0.0/0"]}, {}, "registryAllowedCidrs[0]", "allows everyone"),
    ("dev", {"registryMirrorAllowedCidrs": []}, {}, "registryMirrorAllowedCidrs", "must not be empty"),
    ("dev", {"nexus": {"anonymousPull": False}, "registryMirrorAllowedCidrs": ["10.0.0.0/8"]}, {},
     "registryMirrorAllowedCidrs", "anonymousPull"),
    ("dev", {"nexus": {"anonymousPull": False, "anonymousTeamImages": True}}, {}, "nexus.anonymousTeamImages",
     "needs nexus.anonymousPull"),
]


@pytest.mark.parametrize(
    "stack, overrides, secrets, key, words", BAD_CONFIGURATIONS,
    ids=[f"{i:02d}-{case[3]}" for i, case in enumerate(BAD_CONFIGURATIONS)],
)
def test_bad_configuration_names_its_key_before_any_resource(stack, overrides, secrets, key, words):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run = run_stack(stack, overrides, secrets)
        pytest.fail(f"accepted; registered {[r.name for r in run.resources]}")
    message = str(caught.value)
    matching = [line for line in caught.value.problems if line.startswith(f"{NS}:{key}: ")]
    assert matching, f"no problem names {NS}:{key}: {message}"
    assert any(words in line for line in matching), message
    assert len(caught.value.problems) == 1, message
    # Validation happens before the first resource: nothing is half-registered.
    assert caught.value.program_run.resources == []


def test_bad_configuration_table_is_large_enough():
    assert len(BAD_CONFIGURATIONS) >= 25
    assert len({case[3] for case in BAD_CONFIGURATIONS}) >= 25


def test_several_bad_values_are_reported_together():
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", {"dns": "bind", "server": cvm(cpu=0), "nexus": {"version": "latest"}})
    keys = sorted(line.split(": ")[0] for line in caught.value.problems)
    assert keys == [f"{NS}:dns", f"{NS}:nexus.version", f"{NS}:server.cpu"]


@pytest.mark.parametrize("stack, placeholders", [
    ("dev", ["domain", "server.sshAllowedCidrs[0]"]),
    ("prod", ["domain", "server.sshAllowedCidrs[0]"]),
    ("lab", ["server.address", "server.hostKey"]),
])
def test_shipped_stacks_refuse_their_placeholders_saying_what_to_edit(stack, placeholders):
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    assert [line.split(": ")[0] for line in caught.value.problems] == [f"{NS}:{key}" for key in placeholders]
    for line in caught.value.problems:
        assert "is a placeholder (" in line and line.endswith(f"in stacks/Pulumi.{stack}.yaml"), line


def test_the_lab_host_key_is_a_placeholder_until_replaced_saying_how_to_read_the_real_one():
    assert yaml.safe_load((ROOT / "stacks" / "Pulumi.lab.yaml").read_text())["config"][f"{NS}:server"]["hostKey"] \
        == stack_settings.HOST_KEY_PLACEHOLDER
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("lab", {"server": {**EXISTING, "hostKey": stack_settings.HOST_KEY_PLACEHOLDER}})
    assert caught.value.problems == [
        f"{NS}:server.hostKey: 'REPLACE-WITH-YOUR-SERVERS-HOST-KEY' is a placeholder (read the real one on the "
        "server's console: cat /etc/ssh/ssh_host_ed25519_key.pub, or ssh-keyscan -t ed25519 <server.address> with its "
        "fingerprint checked there by ssh-keygen -lf; README: SSH host keys): set your server's host key in "
        "stacks/Pulumi.lab.yaml"]
    assert run_stack("lab", {"server": EXISTING}).outputs["sshKnownHosts"] == f"10.0.8.15 {LAB_HOST_KEY}"


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_shipped_stacks_validate_once_their_placeholders_are_edited(stack):
    settings = stack_settings_of(stack)
    assert settings.stack == stack
    assert settings.web_fqdn != settings.registry_fqdn
    assert stack_settings.is_placeholder(settings.admin_password)


def test_user_passwords_set_with_path_secrets_read_from_the_stack_file(tmp_path):
    # What `pulumi config set --secret --path 'userPasswords.ci'` writes: each leaf encrypted.
    document = {"config": {
        f"{NS}:domain": "widgets-inc.cn", f"{NS}:dns": "none", f"{NS}:certificate": "self-signed",
        f"{NS}:server": EXISTING, f"{NS}:users": [{"name": "ci", "role": "push"}, {"name": "bob", "role": "pull"}],
        f"{NS}:userPasswords": {"ci": {"secure": "v1:AAAA"}, "bob": {"secure": "v1:BBBB"}},
    }}
    path = tmp_path / "Pulumi.team.yaml"
    path.write_text(yaml.safe_dump(document))
    settings = stack_settings.from_stack_file(path)
    assert set(settings.user_passwords) == {"ci", "bob"}
    assert all(stack_settings.is_placeholder(secret) for secret in settings.user_passwords.values())
    assert settings.ci_user.name == "ci"


def test_users_default_to_one_ci_push_user_whose_password_is_required():
    settings = minimal()
    assert [(user.name, user.role) for user in settings.users] == [("ci", "push")]
    assert settings.user_passwords["ci"].get_secret_value() == "Ci-Push-Password-17"
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_mapping("dev", {"tencentcloud:region": "ap-guangzhou", f"{NS}:domain": "widgets-inc.cn",
                                            f"{NS}:adminPassword": "Correct-Horse-Battery-9", f"{NS}:server": CVM})
    assert caught.value.problems == [
        f"{NS}:userPasswords.ci: is required for user 'ci': pulumi config set --secret --path 'userPasswords.ci'"]
    assert "Ci-Push-Password-17" not in repr(settings)


def test_shipped_stacks_hold_no_plaintext_secret():
    for path in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        text = path.read_text()
        for key in stack_settings.SECRET_KEYS:
            assert f"{NS}:{key}:" not in text or "secure:" in text.split(f"{NS}:{key}:")[1].splitlines()[0], path


@pytest.mark.parametrize("overrides, key, words", [
    ({"domain": "example.org"}, "domain", "example.org is reserved for documentation, RFC 2606"),
    ({"domain": "corp.example.net"}, "domain", "example.net is reserved"),
    ({"domain": "nexus.test"}, "domain", ".test is a reserved top-level domain"),
    ({"domain": "registry.invalid"}, "domain", ".invalid is a reserved top-level domain"),
    ({"domain": "team.localhost"}, "domain", ".localhost is a reserved top-level domain"),
    ({"domain": "acme.example"}, "domain", ".example is a reserved top-level domain"),
    ({"server": cvm(sshAllowedCidrs=["10.0.0.0/8", "198.51.100.0/25"])}, "server.sshAllowedCidrs[1]",
     "198.51.100.0/24 is reserved for documentation, RFC 5737"),
    ({"server": cvm(sshAllowedCidrs=["2001:db8:1::/48"])}, "server.sshAllowedCidrs[0]", "RFC 3849"),
    ({"webAllowedCidrs": ["10.0.0.0/8", "203.0.113.0/24"]}, "webAllowedCidrs[1]", "set your network(s)"),
    ({"registryMirrorAllowedCidrs": ["192.0.2.0/24"]}, "registryMirrorAllowedCidrs[0]", "RFC 5737"),
    ({"nexus": {"dockerHubRemote": "https://mirror.example.com/"}}, "nexus.dockerHubRemote", "a reachable URL"),
    ({"certificate": "acme", "acme": {"email": "ops@example.com"}}, "acme.email", "your own e-mail address"),
])
def test_documentation_placeholders_are_refused(overrides, key, words):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", overrides)
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(f"{NS}:{key}: "), caught.value.problems
    assert words in caught.value.problems[0] and "stacks/Pulumi.dev.yaml" in caught.value.problems[0]


@pytest.mark.parametrize("address, words", [
    ("203.0.113.10", "203.0.113.0/24 is reserved"), ("2001:db8::10", "RFC 3849"),
    ("nexus.example.com", "example.com is reserved"),
])
def test_a_documentation_server_address_is_refused(address, words):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("lab", {"server": {**EXISTING, "address": address}})
    assert caught.value.problems == [
        f"{NS}:server.address: {address!r} is a placeholder ({caught.value.problems[0].split('(')[1].split(')')[0]}): "
        "set your server's address in stacks/Pulumi.lab.yaml"]
    assert words in caught.value.problems[0]


def test_ranges_that_merely_contain_a_documentation_range_and_private_mirrors_are_accepted():
    settings = minimal(server=cvm(sshAllowedCidrs=["192.0.0.0/8", "0.0.0.0/0"], allowSshFromAnywhere=True,
                                  dockerMirror="http://10.0.0.2:5000"))
    assert settings.server.ssh_allowed_cidrs == ["192.0.0.0/8", "0.0.0.0/0"]


def minimal(stack="dev", **settings):
    """The smallest valid config of a cvm stack, as Pulumi passes it, plus ``settings``."""
    config = {"tencentcloud:region": "ap-guangzhou", f"{NS}:domain": "widgets-inc.cn",
              f"{NS}:adminPassword": "Correct-Horse-Battery-9", f"{NS}:server": CVM,
              f"{NS}:userPasswords": '{"ci": "Ci-Push-Password-17"}'}
    config.update({f"{NS}:{key}": value for key, value in settings.items()})
    return stack_settings.from_mapping(stack, config)


def test_defaults_follow_the_design_contract():
    settings = minimal(domain="Widgets-Inc.CN.")
    assert (settings.web_fqdn, settings.registry_fqdn) == ("nexus.widgets-inc.cn", "docker-registry.widgets-inc.cn")
    assert (settings.dns, settings.certificate, settings.protect) == ("dnspod", "tencent", False)
    assert settings.renew_before_days == 30 and settings.web_max_upload_size == "1g"
    assert settings.nexus.anonymous_pull and settings.nexus.pypi_proxy and settings.nexus.yum_proxy
    assert settings.acme.server == stack_settings.LETSENCRYPT_PRODUCTION
    assert settings.effective_backup.enabled is False
    assert minimal("prod").effective_backup.retain_days == 7


@pytest.mark.parametrize("version", [
    "3.93.2", "3.93.2-ubi", "3.93.2-alpine", "3.68.1-java8", "3.68.1-java11", "3.68.1-java17",
    "3.70.1-java8-ubi", "3.70.1-java11-ubi", "3.70.1-java17-ubi", "3.70.1-java11-alpine", "3.70.1-java17-alpine",
])
def test_every_tag_form_sonatype_publishes_is_accepted(version):
    assert minimal(nexus={"version": version}).nexus.version == version


@pytest.mark.parametrize("region, docker, pypi", [
    ("ap-guangzhou", stack_settings.TENCENT_DOCKER_MIRROR, stack_settings.TENCENT_PYPI_MIRROR),
    ("ap-shanghai", stack_settings.TENCENT_DOCKER_MIRROR, stack_settings.TENCENT_PYPI_MIRROR),
    ("ap-hongkong", "https://registry-1.docker.io", "https://pypi.org/"),
    ("ap-singapore", "https://registry-1.docker.io", "https://pypi.org/"),
    ("eu-frankfurt", "https://registry-1.docker.io", "https://pypi.org/"),
])
def test_mainland_cvms_default_to_upstreams_they_can_reach(region, docker, pypi):
    config = {"tencentcloud:region": region, f"{NS}:domain": "widgets-inc.cn",
              f"{NS}:adminPassword": "Correct-Horse-Battery-9", f"{NS}:server": CVM,
              f"{NS}:userPasswords": '{"ci": "Ci-Push-Password-17"}'}
    nexus = stack_settings.from_mapping("dev", config).nexus
    assert (nexus.docker_hub_remote, nexus.pypi_remote) == (docker, pypi)
    # What the stack sets always wins.
    config[f"{NS}:nexus"] = {"dockerHubRemote": "https://hub.example.cn", "pypiRemote": "https://pypi.example.cn/"}
    nexus = stack_settings.from_mapping("dev", config).nexus
    assert (nexus.docker_hub_remote, nexus.pypi_remote) == ("https://hub.example.cn", "https://pypi.example.cn/")


def test_docker_hub_credentials_keep_docker_hub_as_the_upstream_on_the_mainland():
    config = {"tencentcloud:region": "ap-guangzhou", f"{NS}:domain": "widgets-inc.cn",
              f"{NS}:adminPassword": "Correct-Horse-Battery-9", f"{NS}:server": CVM,
              f"{NS}:userPasswords": '{"ci": "Ci-Push-Password-17"}',
              f"{NS}:dockerHubToken": "dckr_pat_x", f"{NS}:nexus": {"dockerHubUsername": "team-bot"}}
    nexus = stack_settings.from_mapping("dev", config).nexus
    assert nexus.docker_hub_remote == "https://registry-1.docker.io"  # the token never goes to a mirror
    assert nexus.pypi_remote == stack_settings.TENCENT_PYPI_MIRROR


def test_existing_servers_keep_the_public_upstreams_whatever_the_region():
    lab = stack_settings_of("lab")
    assert lab.nexus.docker_hub_remote == "https://registry-1.docker.io"


def test_memory_below_the_minimum_is_accepted_only_when_acknowledged():
    small = minimal(server=cvm(memoryGb=4), nexus={"allowBelowMinimumMemory": True, "heapMb": 1536})
    assert small.nexus.heap_mb == 1536
    assert minimal(server=cvm(memoryGb=16), nexus={"heapMb": 9216}).nexus.heap_mb == 9216  # 9216 + 1024 <= 10922


def test_ssh_from_anywhere_needs_an_explicit_opt_in():
    settings = minimal(server=cvm(sshAllowedCidrs=["0.0.0.0/0"], allowSshFromAnywhere=True))
    assert settings.server.ssh_allowed_cidrs == ["0.0.0.0/0"]


def test_secrets_never_show_in_repr():
    settings = minimal()
    assert "Correct-Horse" not in repr(settings) and "Correct-Horse" not in str(settings.model_dump())


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    keys = set(setting_keys(stack_settings.Settings))
    assert {"server.sshAllowedCidrs", "server.address", "nexus.allowDowngrade", "backup.retainDays"} <= keys
    documented = [f"`{k}`" in readme or f"`{k}." in readme for k in keys]
    missing = sorted(k for k, ok in zip(keys, documented, strict=True) if not ok)
    assert missing == [], f"README's settings table lacks {missing}"


@pytest.mark.parametrize("overrides, message", [
    ({"tencentcloud:region": None}, "tencentcloud:region: is required for Tencent resources"),
    ({"tencentcloud:region": "guangzhou"}, "tencentcloud:region: 'guangzhou' is not a Tencent Cloud region"),
    ({"tencentcloud:region": "ap-shanghai"},
     "nexus-registry:server.availabilityZone: 'ap-guangzhou-6' is not in the region 'ap-shanghai'"),
])
def test_the_provider_region_is_checked_before_any_resource(overrides, message, monkeypatch):
    monkeypatch.delenv("TENCENTCLOUD_REGION", raising=False)
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("prod", overrides)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(message)
    assert caught.value.program_run.resources == []


def test_the_region_may_come_from_the_environment_and_lab_needs_none(monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-guangzhou")
    assert run_stack("prod", {"tencentcloud:region": None}).one("tencentcloud:Instance/instance:Instance")
    monkeypatch.delenv("TENCENTCLOUD_REGION")
    assert stack_settings_of("lab").stack == "lab"


def test_under_pulumi_up_bad_settings_stop_with_only_their_lines_and_no_traceback():
    import pulumi

    from components.settings_loader import InvalidStackConfiguration

    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", {"dns": "bind", "nexus-regsitry:domain": "widgets-inc.cn"})
    # The language host logs a pulumi.RunError as str(error) with no traceback (pulumi-language-python-exec).
    assert isinstance(caught.value, InvalidStackConfiguration) and isinstance(caught.value, pulumi.RunError)
    assert caught.value.problems == [
        "nexus-regsitry:domain: 'nexus-regsitry' is not a namespace this project reads "
        "(did you mean nexus-registry?); use nexus-registry, tencentcloud, pulumi",
        "nexus-registry:dns: 'bind' is not allowed; expected 'dnspod' or 'none'",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert caught.value.program_run.resources == []


@pytest.mark.parametrize("key, value, expected", [
    ("tencentcloud:regoin", "ap-guangzhou", "tencentcloud:regoin: is not a tencentcloud provider setting "
                                            "(did you mean region?)"),
    ("nexus-registry:server.address", "10.0.0.9", "nexus-registry:server.address: a nested setting stored as one "
                                                  "flat key; set it with `pulumi config set --path 'server.address'"),
    ("aws:region", "us-east-1", "aws:region: 'aws' is not a namespace this project reads; use nexus-registry"),
])
def test_keys_no_setting_reads_are_reported(key, value, expected):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", {key: value})
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(expected), caught.value.problems
