"""Reading rendered nginx configuration: directives without comments, top-level server blocks, the block
of one server name and port."""

from __future__ import annotations

import re


def code(config: str) -> str:
    """The directives of a rendered config, comments dropped (they may name what is forbidden)."""
    return "\n".join(line.split("#", 1)[0] for line in config.splitlines())


def server_blocks(config: str) -> list[str]:
    """Top-level ``server { ... }`` blocks of a rendered config, comments dropped."""
    blocks, depth, current = [], 0, None
    for line in code(config).splitlines():
        if depth == 0 and re.match(r"\s*server\s*\{", line):
            current = []
        if current is not None:
            current.append(line)
        depth += line.count("{") - line.count("}")
        if current is not None and depth == 0:
            blocks.append("\n".join(current))
            current = None
    return blocks


def block_for(config: str, server_name: str, port: str) -> str:
    """The server block of ``server_name`` on ``port``; the default servers' listen lines are in
    version snippets (https-default.conf on 443, mirror-default.conf on the mirror port)."""
    def listens(block: str) -> bool:
        if re.search(rf"listen {port}\b", block):
            return True
        if "mirror-default.conf" in block:
            return port not in ("80", "443")
        return port == "443" and "include" in block and not re.search(r"listen (?!443\b)\d+", block)

    found = [b for b in server_blocks(config) if re.search(rf"server_name {re.escape(server_name)};", b) and listens(b)]
    assert len(found) == 1, (server_name, port, found)
    return found[0]
