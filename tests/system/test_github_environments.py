"""``make github-environments`` (scripts/github-environments.sh): the four CI environments and their protection.

A stand-in ``gh`` keeps GitHub's side as state (environments, their reviewers and branch
policies) and answers the REST calls the script makes the way GitHub's API does (``PUT
/repos/{repo}/environments/{name}`` replaces the protection, ``deployment-branch-policies``
lists and adds branch rules; ``--jq`` through the real jq), so a second run can be checked
to change nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

FAKE_GH = r'''#!/usr/bin/env python3
import json, os, subprocess, sys

USERS = {"alice": 101, "bob": 202}
state_path = os.environ["GH_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
args = sys.argv[1:]
with open(os.environ["GH_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")


def out(value, jq):
    text = json.dumps(value)
    if jq:  # gh prints strings raw and everything else as JSON, as jq -r does
        text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
    sys.stdout.write(text if jq else text + "\n")


if args[:2] == ["repo", "view"]:
    out({"nameWithOwner": "acme/registry"}, args[args.index("--jq") + 1])
    sys.exit(0)
method, jq, fields, body, rest, i = "GET", None, {}, None, [], 1
while i < len(args):
    if args[i] == "--method":
        method = args[i + 1]
    elif args[i] == "--jq":
        jq = args[i + 1]
    elif args[i] == "--input":
        body = json.load(sys.stdin)
    elif args[i] == "-f":
        key, value = args[i + 1].split("=", 1)
        fields[key] = value
    else:
        rest.append(args[i])
        i += 1
        continue
    i += 2
parts = rest[0].split("/")
if parts[0] == "users":
    if parts[1] not in USERS:
        sys.stderr.write("gh: Not Found (HTTP 404)\n")
        sys.exit(1)
    out({"login": parts[1], "id": USERS[parts[1]]}, jq)
else:
    name = parts[4]
    if len(parts) == 5 and method == "PUT":
        env = state.setdefault(name, {"branch_policies": []})
        env.update({key: body[key] for key in ("reviewers", "prevent_self_review", "deployment_branch_policy")})
        if not body["deployment_branch_policy"]:
            env["branch_policies"] = []
        out({"name": name}, jq)
    elif parts[5:] == ["deployment-branch-policies"] and method == "GET":
        if name not in state:
            sys.stderr.write("gh: Not Found (HTTP 404)\n")
            sys.exit(1)
        policies = state[name]["branch_policies"]
        out({"total_count": len(policies),
             "branch_policies": [{"id": n, "name": p, "type": "branch"} for n, p in enumerate(policies)]}, jq)
    elif parts[5:] == ["deployment-branch-policies"] and method == "POST":
        if not (state[name]["deployment_branch_policy"] or {}).get("custom_branch_policies"):
            sys.stderr.write("gh: custom branch policies are not enabled (HTTP 404)\n")
            sys.exit(1)
        state[name]["branch_policies"].append(fields["name"])
        out({"name": fields["name"], "type": fields["type"]}, jq)
    else:
        sys.stderr.write(f"unexpected call: {args}\n")
        sys.exit(3)
json.dump(state, open(state_path, "w"))
'''

SCRIPT = ROOT / "scripts" / "github-environments.sh"
MAIN_ONLY = {"protected_branches": False, "custom_branch_policies": True}


def run(tmp_path: Path, *args: str, with_gh: bool = True) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if with_gh:
        (bin_dir / "gh").write_text(FAKE_GH)
        (bin_dir / "gh").chmod(0o755 | stat.S_IEXEC)
    for tool in ("jq", "bash", "env", "python3"):  # the system's, not the test venv's python
        if not (bin_dir / tool).exists():
            found = shutil.which(tool, path="/usr/local/bin:/usr/bin:/bin")
            assert found, f"{tool} is not installed; this test never skips"
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "GH_STATE": str(tmp_path / "github.json"), "GH_LOG": str(tmp_path / "gh.log"),
           "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def github(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "github.json").read_text())


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "gh.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_four_environments_get_the_protection_the_readme_lists(tmp_path):
    result = run(tmp_path, "alice bob", "acme/registry")
    assert result.returncode == 0, result.stderr
    reviewers = [{"type": "User", "id": 101}, {"type": "User", "id": 202}]
    assert github(tmp_path) == {
        "dev-preview": {"reviewers": [], "prevent_self_review": False, "deployment_branch_policy": None,
                        "branch_policies": []},
        "prod-preview": {"reviewers": reviewers, "prevent_self_review": True, "deployment_branch_policy": None,
                         "branch_policies": []},
        "dev": {"reviewers": [], "prevent_self_review": False, "deployment_branch_policy": MAIN_ONLY,
                "branch_policies": ["main"]},
        "prod": {"reviewers": reviewers, "prevent_self_review": True, "deployment_branch_policy": MAIN_ONLY,
                 "branch_policies": ["main"]},
    }
    assert "prod: reviewers alice bob, branch main only" in result.stdout
    assert "dev-preview: no reviewers, any branch" in result.stdout
    # The workflows use exactly these environments.
    workflows = "".join(path.read_text() for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert "environment: ${{ matrix.stack }}-preview" in workflows and "environment: ${{ inputs.stack }}" in workflows


def test_a_second_run_changes_nothing_and_adds_no_second_branch_rule(tmp_path):
    assert run(tmp_path, "alice bob", "acme/registry").returncode == 0
    before = github(tmp_path)
    (tmp_path / "gh.log").unlink()
    again = run(tmp_path, "alice bob", "acme/registry")
    assert again.returncode == 0, again.stderr
    assert github(tmp_path) == before
    assert not [call for call in calls(tmp_path) if "--method POST" in call]


def test_a_reviewer_removed_from_the_list_loses_the_approval(tmp_path):
    assert run(tmp_path, "alice bob", "acme/registry").returncode == 0
    assert run(tmp_path, "alice", "acme/registry").returncode == 0
    prod = github(tmp_path)["prod"]
    # One reviewer must be able to approve their own runs, or nothing could ever deploy.
    assert prod["reviewers"] == [{"type": "User", "id": 101}] and prod["prevent_self_review"] is False


def test_the_repository_defaults_to_the_one_gh_sees(tmp_path):
    result = run(tmp_path, "alice")
    assert result.returncode == 0, result.stderr
    assert "environments of acme/registry" in result.stdout
    assert "api --method PUT repos/acme/registry/environments/prod --input -" in calls(tmp_path)


@pytest.mark.parametrize("reviewers, repo, words", [
    ("", "acme/registry", 'usage: make github-environments REVIEWERS="<github login> ..."'),
    ("alice carol", "acme/registry", "REVIEWERS: no GitHub user 'carol'"),
    ("alice $(id)", "acme/registry", "REVIEWERS: '$(id)' is not a GitHub login"),
    ("a b c d e f g", "acme/registry", "six reviewers per environment, not 7"),
    ("alice", "acme/registry/x", "REPO: 'acme/registry/x' is not owner/name"),
])
def test_bad_input_is_refused_before_any_environment_changes(tmp_path, reviewers, repo, words):
    result = run(tmp_path, reviewers, repo)
    assert result.returncode == 2
    assert words in result.stderr
    assert not (tmp_path / "github.json").exists() or github(tmp_path) == {}
    assert not [call for call in calls(tmp_path) if "--method" in call]


def test_without_gh_it_says_what_to_install(tmp_path):
    result = run(tmp_path, "alice", "acme/registry", with_gh=False)
    assert result.returncode == 2
    assert "needs the GitHub CLI (gh" in result.stderr and "gh auth login" in result.stderr


def test_make_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    assert 'github-environments:\n\t@scripts/github-environments.sh "$(REVIEWERS)" "$(REPO)"' in makefile
    assert os.access(SCRIPT, os.X_OK)
