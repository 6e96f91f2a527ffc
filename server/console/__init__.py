"""The web console: server-rendered pages for members, analysts and admins (issue 13)."""
