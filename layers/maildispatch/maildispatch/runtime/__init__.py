"""What runs in Lambda: settings, observability, the SQS batch runtime and each function's wiring."""
