"""Reliability tests: killed connections, restarts, isolation, interrupts, bad input, leaks."""
