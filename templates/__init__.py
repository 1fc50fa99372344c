"""The Jinja templates of child objects, shipped as package data `greenshift.templates`."""
