from skipgen.cli import main

main()
