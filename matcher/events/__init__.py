"""The event engine on durable-rules: policies compiled to rulesets (compiler), run (runtime)."""
