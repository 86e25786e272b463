"""Email: an outbox table written in the caller's transaction, and a sender that delivers it by SMTP."""
