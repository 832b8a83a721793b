"""jaxgen: a JAX/Flax codebase for studying why deep networks generalize."""
