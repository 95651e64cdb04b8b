"""The documentation agrees with the code: README.md and docs/*.md against the real `anpr-edge`
parser (test_commands.py), the JSON Schemas in docs/schemas (test_schemas.py), the unit's health
figures (test_health_table.py) and the files and headings they link to (test_links.py)."""
