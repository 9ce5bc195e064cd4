"""Framework-free building blocks: tokens, passwords, parsing, clients of outside services."""
