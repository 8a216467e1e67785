"""One reconcile pass and its side effects: observe, act, toggle, parity, the pass, the lock."""
