"""Pure rendering of everything the program puts on a host; one module per area, each imported by its name.

Components call these functions; ``python -m components.render`` calls the
same ones (through ``render.stack``) to write a stack's files into a directory
for review without Pulumi.

- ``render.templating``: the one Jinja2 environment (``render_template``);
- ``render.bundle``: a step's files and entrypoint as one script for stdin;
- ``render.nexus``: host preparation, container, bootstrap; with ``render.nexus_repositories``,
  ``render.nexus_security``, ``render.nexus_lifecycle`` (its payloads),
  ``render.nexus_operator_tools`` (backup and status scripts) and ``render.nexus_database``;
- ``render.nginx``: site config, deploy and smoke-check scripts;
- ``render.stack`` and ``render.manifest``: all of a stack's files, and the list of every host path.

Host paths, ports and unit names come from ``components.host_layout``.  This package
imports none of its modules, so importing one loads only what that one needs.
"""
