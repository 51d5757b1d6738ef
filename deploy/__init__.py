"""Deployment tooling: the resources template, IAM policies, `make deploy` and `make package`.

Nothing here is packaged into Lambda (Chalice only ships app.py, chalicelib/ and vendor/).
Run it as `python -m deploy <command>`; the Makefile targets do.
"""
