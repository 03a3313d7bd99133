import ArgumentParser
KDQCommand.main()
