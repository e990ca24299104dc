"""`motion-text` subcommands: argument parsing and calls into the library, nothing else."""
