"""Stripe event intake, storage, normalisation and dispatch to plugin handlers."""
