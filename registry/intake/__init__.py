"""Safe intake: open an uploaded artifact in a sandbox and bring back a validated plan."""
