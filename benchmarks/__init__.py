"""Benchmark scripts (they print figures, they assert nothing) and shared synthetic data.

Run as modules: `.venv/bin/python -m benchmarks.<name>`. Logs go to stderr at WARNING so the
figures are readable (the worker's debug lines would otherwise interleave with them).
"""

from app.logging import configure_logging
from app.settings import Settings

configure_logging(Settings(_env_file=None, log_level="WARNING", log_format="console"))
