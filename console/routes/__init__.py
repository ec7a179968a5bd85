"""HTTP routes of the console, one module per area; thin: validation, auth, then a service call."""
