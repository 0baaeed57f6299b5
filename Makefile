# The two commands a user needs: `make up STACK=dev` deploys, `make test` tests.
STACK ?=
FROM ?=
REVIEWERS ?=
REPO ?=
.PHONY: up converge restore preview preflight status retention-plan init ssh test unit lint render messages github-environments help

help:
	@echo "make init STACK=<name> [FROM=dev]  create stacks/Pulumi.<name>.yaml from another stack's file"
	@echo "make up STACK=<dev|prod|lab>   check the stack file, then deploy (venv, Pulumi CLI, state, secrets, pulumi up)"
	@echo "make converge STACK=<stack>    make up that re-runs every host step (puts hand edits back, each step says what it changed)"
	@echo "make preview STACK=<stack>     the same set-up, then pulumi preview"
	@echo "make preflight STACK=<stack>   only the checks make up/preview start with: account, permissions, stock, image, state bucket, server"
	@echo "make status STACK=<stack>      usage against the Nexus caps, storage, certificates and health, over SSH"
	@echo "make retention-plan STACK=<stack>  the docker-hosted tags nexus.retention would delete tonight (dry run, over SSH)"
	@echo "make restore STACK=<stack> FROM=<snapshot|/path/on/host>  put a database backup (and blobs) back, over SSH"
	@echo "make ssh STACK=<stack>         a shell on the stack's host (the stack's key, its pinned host key)"
	@echo "make test                      lint + unit + system tests (needs root and the Debian packages README: Tests lists)"
	@echo "make unit                      the unit tests alone: no root, no system packages (venv + pytest tests/unit)"
	@echo "make render STACK=<stack>      write what the stack puts on its host into out/<stack>, with MANIFEST.txt"
	@echo "make messages                  after a message changed: extract (Babel), merge into locale/zh_CN .po, compile the .mo"
	@echo "make github-environments REVIEWERS=\"<login> ...\" [REPO=owner/name]  the CI environments and their protection (gh)"

up:
	@scripts/up.sh "$(STACK)" up

converge:
	@scripts/up.sh "$(STACK)" converge

restore:
	@scripts/up.sh "$(STACK)" restore "$(FROM)"

preview:
	@scripts/up.sh "$(STACK)" preview

preflight:
	@scripts/up.sh "$(STACK)" preflight

status:
	@scripts/up.sh "$(STACK)" status

retention-plan:
	@scripts/up.sh "$(STACK)" retention-plan

ssh:
	@scripts/up.sh "$(STACK)" ssh

init:
	@scripts/init-stack.sh "$(STACK)" "$(FROM)"

test:
	@scripts/test.sh

unit:
	@scripts/test.sh --unit

lint:
	@scripts/test.sh --lint-only

render:
	@scripts/render.sh "$(STACK)"

messages:
	@scripts/messages.sh

github-environments:
	@scripts/github-environments.sh "$(REVIEWERS)" "$(REPO)"
