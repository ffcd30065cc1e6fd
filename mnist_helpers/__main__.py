"""``python -m mnist_helpers``: see mnist_helpers.cli."""

import sys

from mnist_helpers.cli import main

if __name__ == "__main__":
    sys.exit(main())
