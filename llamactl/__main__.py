"""`python -m llamactl` runs the same entry point as the console script."""

from llamactl.entry import main

raise SystemExit(main())
