from mxhub.cli import main

main()
