"""CI and supply chain: what runs with credentials is pinned, and credentials go only where they must.

Reads the workflow files, the scripts that install Python packages, the lock
files and the preview CAM policy as data; actionlint (scripts/test.sh) checks the
workflows' syntax, these tests check their security properties.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# Verified against the actions' own repositories (git rev-parse <tag>^{commit}); never a moving tag.
VERIFIED_ACTIONS = {
    "actions/checkout": ("fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09", "v5.1.0"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
READ_ONLY_VERBS = ("Describe", "Inquiry", "Get", "List")


def workflow(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def all_workflows() -> dict[str, dict]:
    return {path.name: workflow(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(document: dict):
    for job_name, job in document["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def pulumi_cli_version() -> str:
    match = re.search(r"^PULUMI_VERSION=([0-9.]+)$", (ROOT / "scripts" / "pulumi-cli.sh").read_text(), re.M)
    assert match, "scripts/pulumi-cli.sh pins PULUMI_VERSION"
    return match.group(1)


def test_every_action_is_pinned_by_a_verified_commit_sha():
    for name, path in ((p.name, p) for p in WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)(.*)$", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, _, ref = match.group(1).partition("@")
            assert action in VERIFIED_ACTIONS, f"{name}: {action} is not a verified action"
            sha, tag = VERIFIED_ACTIONS[action]
            assert ref == sha, f"{name}: {action}@{ref} is not the verified commit {sha}"
            assert match.group(2).strip() == f"# {tag}", f"{name}: say which release {sha} is"


def test_the_pulumi_cli_version_is_pinned_to_the_one_up_sh_installs():
    found = 0
    for name, document in all_workflows().items():
        for _, _, step in steps(document):
            if step.get("uses", "").startswith("pulumi/actions@"):
                assert step["with"].get("pulumi-version") == pulumi_cli_version(), name
                found += 1
    assert found == 2  # preview and up



def test_the_workflows_install_the_checked_cli_before_pulumi_actions_would_download_one():
    """pulumi/actions downloads the CLI without any checksum unless the version it is asked for is on PATH."""
    found = 0
    for name, document in all_workflows().items():
        for job_name, job in document["jobs"].items():
            runs = [step.get("run", "") for step in job.get("steps", [])]
            uses = [step.get("uses", "") for step in job.get("steps", [])]
            for index, action in enumerate(uses):
                if action.startswith("pulumi/actions@"):
                    earlier = runs[:index]
                    assert 'scripts/install-pulumi-cli.sh >>"$GITHUB_PATH"' in earlier, f"{name}:{job_name}"
                    found += 1
    assert found == 2

def test_the_pinned_cli_has_a_committed_checksum_for_the_ci_platform():
    """make up installs the CLI only when the tarball's SHA-256 is committed: without a
    linux-x64 line for PULUMI_VERSION every Linux deployer falls back to a hand install."""
    checksums = {}
    for line in (ROOT / "scripts" / "pulumi-cli.sha256").read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split("  ")
            assert re.fullmatch(r"[0-9a-f]{64}", digest), line
            checksums[name] = digest
    version = pulumi_cli_version()
    assert f"pulumi-v{version}-linux-x64.tar.gz" in checksums, \
        f"scripts/pulumi-cli.sha256 has no line for pulumi-v{version}-linux-x64.tar.gz"
    stale = [name for name in checksums if not name.startswith(f"pulumi-v{version}-")]
    assert not stale, f"lines for another release than PULUMI_VERSION={version}: {stale}"


def test_the_locked_sdk_is_the_release_of_the_pinned_cli():
    """The CLI's language host runs the program with the locked SDK; an SDK newer than the
    CLI may ask the engine for features it does not have, so both move together."""
    for lock in ("requirements.lock", "requirements-dev.lock"):
        match = re.search(r"^pulumi==(\S+) ", (ROOT / lock).read_text(), re.M)
        assert match, f"{lock} locks the pulumi SDK"
        assert match.group(1) == pulumi_cli_version(), \
            f"{lock} locks pulumi=={match.group(1)}, scripts/up.sh installs the CLI {pulumi_cli_version()}"

def test_secrets_are_read_only_by_jobs_in_an_environment():
    for name, document in all_workflows().items():
        for job_name, job in document["jobs"].items():
            text = yaml.safe_dump(job)
            used = set(re.findall(r"secrets\.([A-Z_]+)", text)) - {"GITHUB_TOKEN"}
            if used:
                assert job.get("environment"), f"{name}:{job_name} reads {used} without an environment"


def test_previews_use_their_own_read_only_environments_and_skip_forks():
    preview = workflow("preview.yml")
    assert set(preview["on"]) == {"pull_request"}  # never pull_request_target: PR code never sees base secrets
    job = preview["jobs"]["preview"]
    assert job["environment"] == "${{ matrix.stack }}-preview"
    assert job["needs"] == "test"
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert preview["permissions"] == {"contents": "read"}
    for document in all_workflows().values():
        assert "pull_request_target" not in (document["on"] or {})


def test_deploy_requires_the_tests_and_prod_comes_after_dev():
    deploy = workflow("deploy.yml")
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/tests.yml"
    assert jobs["up-dev"]["needs"] == "test" and jobs["up-dev"]["with"] == {"stack": "dev"}
    assert jobs["up-prod"]["needs"] == "up-dev" and jobs["up-prod"]["with"] == {"stack": "prod"}
    assert workflow("up.yml")["jobs"]["up"]["environment"] == "${{ inputs.stack }}"
    assert set(workflow("up.yml")["on"]) == {"workflow_call"}


def test_checkouts_keep_no_token_on_disk():
    for name, document in all_workflows().items():
        for job_name, _, step in steps(document):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{name}:{job_name}"


INSTALLERS = [".github/workflows/preview.yml", ".github/workflows/up.yml", "scripts/test.sh", "scripts/up.sh"]


@pytest.mark.parametrize("path", INSTALLERS)
def test_python_packages_are_installed_from_a_lock_with_hashes(path):
    lines = [line for line in (ROOT / path).read_text().splitlines()
             if re.search(r"\bpip install\b", line) and not line.lstrip().startswith("#")]
    assert lines, f"{path} installs nothing?"
    for line in lines:
        assert "--require-hashes" in line and re.search(r"-r requirements(-dev|-build)?\.lock\b", line), \
            (path, line)
        assert "--upgrade pip" not in line
        # Source-only packages are built with the hash-checked setuptools, never one fetched for the build.
        if "requirements-build.lock" not in line:
            assert "--no-build-isolation" in line, (path, line)
    assert "requirements-build.lock" in lines[0], f"{path}: the build tools come first"


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a pip-compile --generate-hashes file."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", line)
        if match:
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and "--hash=sha256:" in line:
            version, count = entries[current]
            entries[current] = (version, count + 1)
    return entries


def _requirements(path: Path) -> list[Requirement]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += _requirements(path.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


@pytest.mark.parametrize("source, lock", [("requirements.txt", "requirements.lock"),
                                          ("requirements-dev.txt", "requirements-dev.lock"),
                                          ("requirements-build.txt", "requirements-build.lock")])
def test_each_lock_pins_every_requirement_in_range_with_hashes(source, lock):
    locked = _locked(ROOT / lock)
    for requirement in _requirements(ROOT / source):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} lacks {requirement}: run scripts/lock.sh"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{lock} pins {name}=={version}, outside {requirement}: run scripts/lock.sh"
    assert all(hashes >= 1 for _, hashes in locked.values()), f"{lock}: a pin without --hash"


def test_program_and_test_locks_agree():
    program, dev = _locked(ROOT / "requirements.lock"), _locked(ROOT / "requirements-dev.lock")
    assert {name: version for name, (version, _) in program.items()} == \
        {name: dev[name][0] for name in program}


def test_the_preview_key_policy_is_read_only():
    policy = json.loads((ROOT / "docs" / "ci-preview-cam-policy.json").read_text())
    assert policy["version"] == "2.0"
    for statement in policy["statement"]:
        assert statement["effect"] == "allow"
        for action in statement["action"]:
            service, _, verb = action.partition(":")
            assert service and verb.startswith(READ_ONLY_VERBS), action



# The CAM service whose read actions each provider module needs: what its data sources call
# (availability.get_zones_by_product -> api DescribeZones, v1.82.42 service_tencentcloud_api.go)
# and what a preview with --refresh reads back for its resources.
CAM_SERVICE_OF_MODULE = {
    "availability": "api", "cbs": "cbs", "image": "cvm", "instance": "cvm", "key": "cvm",
    "security": "vpc", "subnet": "vpc", "vpc": "vpc", "postgresql": "postgres", "dnspod": "dnspod", "ssl": "ssl",
    "privatedns": "privatedns",
}


def _provider_modules_used() -> set[str]:
    used = set()
    for path in (ROOT / "components").rglob("*.py"):
        for match in re.finditer(r"^from tencentcloud_iac_pulumi import (.+)$", path.read_text(), re.M):
            used |= {name.strip() for name in match.group(1).split(",")}
    assert used, "the program imports provider modules"
    unknown = used - set(CAM_SERVICE_OF_MODULE)
    assert not unknown, f"add the CAM service of {unknown} to CAM_SERVICE_OF_MODULE and the policies"
    return used


def test_the_preview_key_may_read_every_service_the_program_uses():
    policy = json.loads((ROOT / "docs" / "ci-preview-cam-policy.json").read_text())
    allowed = {action for statement in policy["statement"] for action in statement["action"]}
    for module in sorted(_provider_modules_used()):
        service = CAM_SERVICE_OF_MODULE[module]
        assert f"{service}:Describe*" in allowed, f"{module}: the preview key cannot read {service}"


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_deployer_policy_in_the_readme_grants_every_service_the_program_uses(readme):
    text = (ROOT / readme).read_text()
    section = text[text.index('id="a-sub-account-key-cam-policy"') if "zh-CN" in readme
                   else text.index("### A sub-account key (CAM policy)"):]
    start = section.index("```json") + len("```json")
    policy = json.loads(section[start:section.index("```\n", start)])
    services = {action.partition(":")[0] for statement in policy["statement"] for action in statement["action"]}
    for module in sorted(_provider_modules_used()):
        assert CAM_SERVICE_OF_MODULE[module] in services, f"{readme}: the deployer policy has no {module} statement"

def test_the_quick_installs_of_check_and_render_take_hashed_entries_of_the_lock_only():
    """make up's first check, make init and make render install a few packages before (or without) the
    whole lock: the entries of requirements.lock for those packages, hashes required, nothing else."""
    helper = (ROOT / "scripts/python-env.sh").read_text()
    lines = [line for line in helper.splitlines() if re.search(r"\bpip install\b", line)]
    assert len(lines) == 1 and "--require-hashes" in lines[0] and "--no-deps" in lines[0], lines
    assert "requirements.lock >\"$subset\"" in helper
    for path in ("scripts/up.sh", "scripts/init-stack.sh", "scripts/render.sh", "Makefile"):
        text = (ROOT / path).read_text()
        assert not [line for line in text.splitlines() if re.search(r"\bpip install\b", line)
                    and "--require-hashes" not in line], path
