from phasemapper.cli import main

main()
