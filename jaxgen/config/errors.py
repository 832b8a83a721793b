"""The one error type of a bad configuration."""


class ConfigError(ValueError):
  """A configuration value is invalid; the message names the field and the valid choices."""
