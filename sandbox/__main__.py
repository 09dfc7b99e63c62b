"""``python -m sandbox --port P [--seed NAME]``: the same as ``secondloop sandbox``."""

from __future__ import annotations

from sandbox.cli import main

raise SystemExit(main())
