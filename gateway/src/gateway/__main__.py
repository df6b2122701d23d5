"""python -m gateway [rebuild]"""

import sys

if sys.argv[1:] == ["rebuild"]:
    from .rebuild import main as rebuild

    rebuild()
else:
    from .app import main

    main()
