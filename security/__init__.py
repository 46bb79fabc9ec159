"""Key material and encryption: the Temporal payload codec and the keys that wrap customer data."""
