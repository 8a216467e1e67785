"""The service around passes: daemon, HTTP listener, webhooks, metrics, logs, progress."""
