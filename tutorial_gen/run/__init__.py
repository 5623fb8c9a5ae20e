"""Run: execute notebooks in fresh kernels, reuse what the cache knows, record the results."""
