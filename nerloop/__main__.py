from nerloop.cli import main

main()
