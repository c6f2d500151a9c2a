from naia.cli.main import main

main()
