"""`python -m nlpkit_cli` runs the same command as `nlpkit`."""

from nlpkit_cli.main import main

if __name__ == "__main__":
    main()
