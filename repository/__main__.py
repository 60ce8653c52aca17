"""`python -m repository` runs the `huiju` CLI (the module stays importable as repository.cli)."""

from repository.cli import main

if __name__ == "__main__":  # not when a spawned worker process (repository/search_workers.py) imports it
    main()
