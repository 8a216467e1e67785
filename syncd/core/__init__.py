"""Pure decision core: no I/O, no logging; reasons travel in return values."""
