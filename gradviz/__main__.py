"""``python -m gradviz`` is the ``gradviz`` command."""

from gradviz.cli import main

raise SystemExit(main())
