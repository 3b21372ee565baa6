"""The `nlpkit` command line: thin Typer adapters over functions in `nlpkit`."""
