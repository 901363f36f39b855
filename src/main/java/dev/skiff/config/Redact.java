package dev.skiff.config;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * Base URLs may carry credentials ({@code https://user:pass@host}, as some proxies and self-hosted
 * servers want); whatever Skiff prints or serves shows them as {@code ***}.
 */
public final class Redact {
    private Redact() {}

    /** The userinfo of any URL in the text: from after {@code scheme://} up to an {@code @} before the path. */
    private static final Pattern USERINFO = Pattern.compile("(?<=://)[^/?#@\\s]*@");

    public static String url(URI uri) {
        return uri.getRawUserInfo() == null ? uri.toString() : url(uri.toString());
    }

    /** The text with the credentials of every URL in it replaced. */
    public static String url(String text) {
        return text == null || text.indexOf('@') < 0 ? text : USERINFO.matcher(text).replaceAll("***@");
    }
}
