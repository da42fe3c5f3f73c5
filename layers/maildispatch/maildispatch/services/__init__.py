"""The use cases, written against the ports: dispatch, reporting, returned mail."""
