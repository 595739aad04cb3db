"""Thin routers: parse, authorize, call a service, serialize."""
