"""``python -m alignfreeze.cli``."""

from alignfreeze.cli.app import main

main()
