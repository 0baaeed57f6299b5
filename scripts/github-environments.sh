#!/usr/bin/env bash
# `make github-environments REVIEWERS="alice bob" [REPO=owner/name]`: creates or updates the four
# GitHub environments the workflows run in, with this protection (see README: CI credentials):
#
#   dev-preview   PR previews of dev     no reviewers, any branch (pull requests)
#   prod-preview  PR previews of prod    REVIEWERS approve each run, any branch
#   dev           pulumi up dev          branch main only
#   prod          pulumi up prod         REVIEWERS approve each run, branch main only
#
# With two or more reviewers nobody may approve a run they started themselves.  Idempotent: a
# second run changes nothing.  Secrets are not touched (they are yours to add, per environment).
# Needs the GitHub CLI (gh), logged in as someone who may administer the repository.
set -euo pipefail

reviewers=${1:-}
repo=${2:-}
fail() { printf 'make github-environments: %s\n' "$*" >&2; exit 2; }
say() { printf '==> %s\n' "$*"; }

[[ -n $reviewers ]] || fail 'usage: make github-environments REVIEWERS="<github login> ..." [REPO=owner/name]
  REVIEWERS approve every prod deploy and every prod preview (at least one login; up to six).'
command -v gh >/dev/null 2>&1 || fail "needs the GitHub CLI (gh, https://cli.github.com), logged in: gh auth login"
command -v jq >/dev/null 2>&1 || fail "needs jq"

if [[ -z $repo ]]; then
  repo=$(gh repo view --json nameWithOwner --jq .nameWithOwner) || fail "cannot tell the repository; pass REPO=owner/name"
fi
[[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || fail "REPO: '$repo' is not owner/name"

read -r -a logins <<<"$reviewers"
((${#logins[@]} <= 6)) || fail "REVIEWERS: GitHub allows six reviewers per environment, not ${#logins[@]}"
ids=()
for login in "${logins[@]}"; do
  [[ $login =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$ ]] || fail "REVIEWERS: '$login' is not a GitHub login"
  ids+=("$(gh api "users/$login" --jq .id)") || fail "REVIEWERS: no GitHub user '$login'"
done
reviewers_json=$(printf '%s\n' "${ids[@]}" | jq -sc 'map({type: "User", id: .})')
prevent_self_review=false
((${#ids[@]} < 2)) || prevent_self_review=true

# environment NAME REVIEWED(yes|no) BRANCH(main|any)
environment() {
  local name=$1 reviewed=$2 branch=$3 body policies
  body=$(jq -nc --argjson reviewers "$reviewers_json" --argjson self "$prevent_self_review" \
    --arg reviewed "$reviewed" --arg branch "$branch" '{
      wait_timer: 0,
      prevent_self_review: (if $reviewed == "yes" then $self else false end),
      reviewers: (if $reviewed == "yes" then $reviewers else [] end),
      deployment_branch_policy: (if $branch == "main"
        then {protected_branches: false, custom_branch_policies: true} else null end)
    }')
  gh api --method PUT "repos/$repo/environments/$name" --input - <<<"$body" >/dev/null
  if [[ $branch == main ]]; then
    policies=$(gh api "repos/$repo/environments/$name/deployment-branch-policies" --jq '[.branch_policies[].name]')
    if ! jq -e 'index("main")' <<<"$policies" >/dev/null; then
      gh api --method POST "repos/$repo/environments/$name/deployment-branch-policies" \
        -f name=main -f type=branch >/dev/null
    fi
  fi
  say "$name: $([[ $reviewed == yes ]] && echo "reviewers ${logins[*]}" || echo "no reviewers"), $([[ $branch == main ]] && echo "branch main only" || echo "any branch")"
}

say "environments of $repo"
environment dev-preview no any
environment prod-preview yes any
environment dev no main
environment prod yes main
say "now add each environment's secrets (README: CI credentials): PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY"
