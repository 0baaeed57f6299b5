"""``python -m components.preflight stacks/Pulumi.<stack>.yaml``: see ``components.preflight.cli``."""

import sys

from components.preflight.cli import main

sys.exit(main())
