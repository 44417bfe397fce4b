from ixserver.cli import main

main()
