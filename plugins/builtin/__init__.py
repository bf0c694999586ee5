"""Core features written as plugins; always registered."""
