package dev.skiff.routing;

/** A model that cannot be routed; status and code follow OpenAI's conventions. */
public final class RouteException extends Exception {
    private final int status;
    private final String code;

    public RouteException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }
}
