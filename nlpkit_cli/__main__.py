from nlpkit_cli.app import main

main()
