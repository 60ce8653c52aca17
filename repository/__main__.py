"""`python -m repository` runs the `huiju` CLI (the module stays importable as repository.cli)."""

from repository.cli import main

main()
