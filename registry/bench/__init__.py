"""The benchmark behind `manage.py bench`: the real server against a bare Flask ceiling."""
