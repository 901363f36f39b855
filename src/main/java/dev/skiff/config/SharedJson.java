package dev.skiff.config;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The plain Jackson mapper of the code that reads or writes JSON trees off the request path: routing
 * settings given as JSON, the control plane's stored keys and policies, the keys admin API. Made at
 * its first use, not when those classes are: ObjectMapper's own set-up (its default date format loads
 * calendar and locale data) took start-up's main thread ~50 ms in a profile, and a gateway with no
 * JSON settings, keys or policies does not need it before its first admin call.
 */
public final class SharedJson {
    /** Initialised when first read (this class is loaded early, but not initialised, from the AOT cache). */
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private SharedJson() {}
}
