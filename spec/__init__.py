"""poolspec's contract, executable: the recording driver, adapters, the lockstep harness, reports, CLI."""
