"""``python -m controller`` runs the ``ecs-gitops`` command line."""

import sys

from controller.cli import main

sys.exit(main())
