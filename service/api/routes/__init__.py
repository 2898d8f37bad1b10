"""The `/api/v1` routers: reads for viewers, writes for editors, tokens and audit for admins."""
