"""Business logic between routers/jobs and rules/connectors. Services flush; owners commit."""
