from naia.cli.entry import main

main()
