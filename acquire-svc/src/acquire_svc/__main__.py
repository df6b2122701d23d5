"""python -m acquire_svc"""

from .app import main

main()
