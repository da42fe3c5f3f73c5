"""The ports for real: AWS clients, DynamoDB tables, the SMTP relay."""
