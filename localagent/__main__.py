from localagent.cli.app import main

main()
