"""Allow ``python -m streams`` as an alias of the ``winback`` console script."""

from streams.cli import main

main()
