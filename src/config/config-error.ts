/** A configuration the process refuses to start with; its message names the setting. */
export class ConfigError extends Error {}
