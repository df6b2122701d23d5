"""python -m ingest_svc"""

from .app import main

main()
