"""Work that runs outside HTTP requests: the outbox dispatcher and the periodic jobs."""
