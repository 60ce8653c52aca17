"""``python -m harvester.demo DEMO_FOLDER``: run the demo platforms (see servers.py)."""

import sys

from harvester.demo.servers import main

sys.exit(main())
