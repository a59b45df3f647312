"""What a result says: reports as text and JSON, impact tallies, the policy files' test cases."""
