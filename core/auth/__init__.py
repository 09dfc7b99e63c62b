"""Accounts without passwords: magic links, rate limits, workspaces, memberships, invitations."""
