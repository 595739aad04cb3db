"""The outside world. Nothing outside a connector knows a CRM's property or field names."""
