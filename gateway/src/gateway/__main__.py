"""python -m gateway (rebuild the read model with `brainstream replay gateway`)"""

from .app import main

main()
