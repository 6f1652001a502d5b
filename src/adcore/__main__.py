"""``python -m adcore``: the same as the ``adcore`` command."""

from .cli import main

raise SystemExit(main())
