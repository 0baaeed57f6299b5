# The two commands a user needs: `make up STACK=dev` deploys, `make test` tests.
STACK ?=
.PHONY: up preview status test lint render help

help:
	@echo "make up STACK=<dev|prod|lab>   deploy one stack (venv, Pulumi CLI, local state, secrets, pulumi up)"
	@echo "make preview STACK=<stack>     the same set-up, then pulumi preview"
	@echo "make status STACK=<stack>      usage against the Nexus caps, storage, certificates and health, over SSH"
	@echo "make test                      lint + unit + system tests (needs nginx, docker-registry, skopeo, shellcheck)"
	@echo "make render STACK=<stack>      write what the stack puts on its host into out/<stack>"

up:
	@scripts/up.sh "$(STACK)" up

preview:
	@scripts/up.sh "$(STACK)" preview

status:
	@scripts/status.sh "$(STACK)"

test:
	@scripts/test.sh

lint:
	@scripts/test.sh --lint-only

render:
	@test -n "$(STACK)" || { echo "usage: make render STACK=<stack>" >&2; exit 2; }
	@test -x .venv/bin/python || { python3 -m venv .venv && .venv/bin/pip install -q --require-hashes -r requirements-build.lock \
	  && .venv/bin/pip install -q --require-hashes --no-build-isolation -r requirements.lock; }
	@.venv/bin/python -m components.render --stack "$(STACK)" --out "out/$(STACK)"
