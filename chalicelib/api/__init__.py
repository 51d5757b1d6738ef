"""The HTTP edge: request models, body parsing, error shapes, paging cursors."""
