"""python -m gateway"""

from .app import main

main()
