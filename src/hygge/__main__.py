from hygge.cli import main

main()
