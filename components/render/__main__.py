"""``python -m components.render --stack STACK --out DIR``: write what a stack puts on its host.

DIR mirrors the host's filesystem (``DIR/etc/nginx/conf.d/...``, host scripts
at the paths where they run) and ``DIR/nexus-api/<repository>.json`` holds each
Nexus repository payload.  Only ``stacks/Pulumi.<STACK>.yaml`` is read; values
known only after deploy (certificates, IPs, secrets) are clear placeholders.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components import settings as stack_settings
from components.render import stack_files

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.render", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: reads stacks/Pulumi.<STACK>.yaml")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into (created)")
    args = parser.parse_args(argv)

    stack_file = ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        parser.error(f"no stack file {stack_file}")
    try:
        settings = stack_settings.from_stack_file(stack_file)
    except stack_settings.SettingsError as error:
        print(error, file=sys.stderr)
        return 2

    rendered = stack_files(settings)
    for host_file in rendered.host_files:
        target = args.out / host_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host_file.content)
        target.chmod(int(host_file.mode, 8))
    for repository, payload in rendered.api_payloads.items():
        target = args.out / "nexus-api" / f"{repository}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(rendered.host_files)} host files and "
          f"{len(rendered.api_payloads)} repository payloads to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
