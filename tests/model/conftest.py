"""The stateful model test of syncd's repairs; its helpers live in ``modelkit``."""
