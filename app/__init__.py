"""roadmap-guard: keeps CRM deals honest about what the roadmap can deliver."""

__version__ = "0.1.0"
