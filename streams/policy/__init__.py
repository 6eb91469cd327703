"""The campaign policy: its sections, loading a YAML file and the problems it reports."""
