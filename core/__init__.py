"""SecondLoop's core: tenants, Stripe connections, secrets, the event bus and the plugin host."""
