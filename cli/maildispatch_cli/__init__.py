"""The `maildispatch` command line: operator tools that talk to a deployed stack or a local one."""
