package dev.skiff.admin;

/** An admin call refused: answered with {@code status} in the OpenAI error envelope. */
public final class AdminException extends RuntimeException {
    private final int status;
    private final String code;
    private final String param;

    public AdminException(int status, String message, String code, String param) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.param = param;
    }

    public static AdminException badRequest(String message, String param) {
        return new AdminException(400, message, "invalid_request", param);
    }

    public static AdminException notFound(String message) {
        return new AdminException(404, message, "not_found", null);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }
}
