import sys

from loadcluster.cli import main

sys.exit(main())
