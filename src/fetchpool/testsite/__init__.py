"""The built-in test site (``fetchpool serve``) and its faults: for the tests, the demo and
the bench. Nothing on the fetching path imports it (an import-linter contract)."""
