"""python -m library_svc"""

from .app import main

main()
