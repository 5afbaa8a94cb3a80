import sys

from tps.cli import main

sys.exit(main())
