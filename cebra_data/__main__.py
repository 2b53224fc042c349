"""``python -m cebra_data`` runs the ``cebra-data`` command."""

import sys

from cebra_data.cli import main

if __name__ == "__main__":
    sys.exit(main())
