"""Imperative shell: the modules that talk to Harbor and the state store to act on a plan."""
