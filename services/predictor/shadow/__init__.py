"""The shadow lane: a challenger version scores every record off the request path, and its answers are
compared with the champion's on the same customers (`churnguard shadow`, GET /model/shadow)."""
