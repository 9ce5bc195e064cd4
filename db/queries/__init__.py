"""Query builders: select statements and conditions that services run on their session."""
