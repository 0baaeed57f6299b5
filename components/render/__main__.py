"""``python -m components.render --stack STACK --out DIR``: write what a stack puts on its host.

DIR mirrors the host's filesystem (``DIR/etc/nginx/conf.d/...``, host scripts
at the paths where they run), ``DIR/nexus-api/<repository>.json`` holds each
Nexus repository payload, and ``DIR/MANIFEST.txt`` lists every host path with
its mode, owner and secrecy, including what cannot be rendered (secrets,
certificates, the fstab line, daemon.json, the nginx ``active`` link).  Only
``stacks/Pulumi.<STACK>.yaml`` (or ``--stack-file``) is read; values known only
after deploy are clear placeholders.  DIR is replaced as a whole, so no file of
an earlier render survives; a non-empty DIR that is not a render is refused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from components import settings as stack_settings
from components.render.manifest import MANIFEST_NAME, host_manifest, manifest_text
from components.render.stack import stack_files

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.render", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads stacks/Pulumi.<STACK>.yaml")
    source.add_argument("--stack-file", type=Path, help="a stack file elsewhere (named Pulumi.<stack>.yaml)")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into (replaced)")
    args = parser.parse_args(argv)

    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        parser.error(f"no stack file {stack_file}")
    if args.out.exists() and any(args.out.iterdir()) and not (args.out / MANIFEST_NAME).is_file():
        parser.error(f"{args.out} is not empty and holds no {MANIFEST_NAME} of an earlier render; "
                     "choose a new directory")
    try:
        settings = stack_settings.from_stack_file(stack_file)
    except stack_settings.SettingsError as error:
        print(error, file=sys.stderr)
        return 2

    rendered = stack_files(settings)
    # Build the new tree beside the old one, then swap: stale files of an earlier render are gone,
    # and a failure half-way leaves the previous render as it was.
    staging = args.out.with_name(f".{args.out.name}.rendering")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for host_file in rendered.host_files:
        target = staging / host_file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host_file.content)
        target.chmod(int(host_file.mode, 8))
    for repository, payload in rendered.api_payloads.items():
        target = staging / "nexus-api" / f"{repository}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    entries = host_manifest(settings, rendered.host_files)
    (staging / MANIFEST_NAME).write_text(manifest_text(settings.stack, entries))
    shutil.rmtree(args.out, ignore_errors=True)
    staging.rename(args.out)
    unrendered = [entry for entry in entries if not entry.rendered]
    print(f"wrote {len(rendered.host_files)} host files and {len(rendered.api_payloads)} repository payloads "
          f"to {args.out}; {args.out / MANIFEST_NAME} lists them and {len(unrendered)} paths known only after "
          "deploy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
