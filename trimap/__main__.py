"""``python -m trimap`` is the ``trimap`` command."""

import sys

from trimap.cli import main

sys.exit(main())
