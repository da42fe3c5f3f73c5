"""Pure values and functions: no I/O, no AWS, no SMTP, no environment."""
