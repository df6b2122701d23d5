"""python -m resolve_svc"""

from .app import main

main()
