"""The pure core: availability model, references, rules and evaluation. No I/O in this package:
no database, no HTTP, no FastAPI. Plain functions over plain data."""
