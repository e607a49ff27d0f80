import sys

from rtmusic.cli import main

sys.exit(main())
