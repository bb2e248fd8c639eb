from localagent.cli.entry import main

main()
