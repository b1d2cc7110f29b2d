from pullcheck.cli import main

main()
