package dev.skiff.control;

import dev.skiff.dialect.BadRequestException;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Who a request is for, beyond the key that authenticated it: a user path deeper than the key's
 * ({@code X-Skiff-User-Path}, or GoModel's {@code X-GoModel-User-Path} for clients that switch), and the
 * calling system's end user (the configured header, default {@code X-End-User}; else the body's
 * {@code safety_identifier}, {@code user} or {@code metadata.user_id}, read by the gateway). The
 * headers are Skiff's, so they are removed from the request: no provider ever sees them.
 */
public final class Identification {
    public static final AsciiString USER_PATH = AsciiString.cached("x-skiff-user-path");
    public static final AsciiString GOMODEL_USER_PATH = AsciiString.cached("x-gomodel-user-path");
    public static final String DEFAULT_END_USER_HEADER = "X-End-User";
    /** Longest end-user id. */
    public static final int MAX_END_USER = 256;

    private final AsciiString endUserHeader;

    public Identification(String endUserHeader) {
        this.endUserHeader = new AsciiString(endUserHeader == null || endUserHeader.isBlank() ? DEFAULT_END_USER_HEADER : endUserHeader.strip());
    }

    public String endUserHeader() {
        return endUserHeader.toString();
    }

    /**
     * The caller made more precise by the request head's headers, which are then removed; the same
     * caller (no allocation) when the head has none of them.
     */
    public Caller identify(Caller caller, HttpHeaders headers) throws BadRequestException {
        String path = headers.get(USER_PATH);
        String header = USER_PATH.toString();
        if (path == null) {
            path = headers.get(GOMODEL_USER_PATH);
            header = "X-GoModel-User-Path";
        } else {
            header = "X-Skiff-User-Path";
        }
        String user = headers.get(endUserHeader);
        if (path == null && user == null) return caller;
        // Only what is there is removed (each removal is a lookup): GoModel's header may come beside ours.
        if (path != null) {
            if (header.equals("X-Skiff-User-Path")) headers.remove(USER_PATH);
            headers.remove(GOMODEL_USER_PATH);
        }
        if (user != null) headers.remove(endUserHeader);
        String userPath = caller.userPath();
        if (path != null) {
            try {
                userPath = UserPath.beneath(caller.userPath() == null ? UserPath.ROOT : caller.userPath(), path);
            } catch (IllegalArgumentException e) {
                throw new BadRequestException(header + ": " + e.getMessage(), null);
            }
        }
        return caller.identified(userPath, user == null ? null : endUser(user, endUserHeader + " header"));
    }

    /** An end-user id as given (null when blank); refused when longer than {@link #MAX_END_USER}. */
    public static String endUser(String value, String where) throws BadRequestException {
        String v = value.strip();
        if (v.isEmpty()) return null;
        if (v.length() > MAX_END_USER) {
            throw new BadRequestException("The end-user id in the " + where + " is " + v.length() + " characters long; at most "
                    + MAX_END_USER + " are accepted.", where.equals("body") ? "user" : null);
        }
        return v;
    }
}
