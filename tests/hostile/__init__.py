"""Semel under hostile input: the numbered cases of issue 10 (test_cases.py), generated inputs through every
reader and command (test_generated.py), and faults at every stage boundary and inside writes
(test_faults.py). Shared helpers live in helpers.py."""
