package dev.skiff.config;

/** Configuration that cannot be served; the message names the setting and what is wrong with it. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String setting, String problem) {
        super(setting + ": " + problem);
    }
}
