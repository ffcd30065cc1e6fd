"""``python -m mnist_helpers``: see mnist_helpers.apps.cli."""

import sys

from mnist_helpers.apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
