package dev.skiff.dialect;

/** A request the client must fix; carries the offending parameter for the error envelope. */
public final class BadRequestException extends Exception {
    private final String param;

    public BadRequestException(String message, String param) {
        super(message, null, false, false);
        this.param = param;
    }

    public String param() {
        return param;
    }
}
