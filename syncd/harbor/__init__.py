"""Harbor's v2.0 API: the HTTP session (auth, retries, paging), the typed client, decoding."""
