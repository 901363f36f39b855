package dev.skiff.control.limits;

/**
 * One limit: whose requests ({@link Scope}), what it counts ({@link Metric}), over what time
 * ({@link Window}), the hard limit that refuses, and an optional soft threshold that only warns.
 *
 * @param id    the policy's id (admin API); per-key limits read from a key's JSON get {@code key:<keyId>:<n>}
 * @param limit the hard limit: a request that would take the count past it is refused
 * @param soft  the soft threshold (warning once the count reaches it), or -1 for none
 */
public record LimitPolicy(String id, Scope scope, Metric metric, Window window, long limit, long soft) {
    public LimitPolicy {
        if (limit < 0) throw new IllegalArgumentException("a limit is at least 0");
        if (soft >= 0 && soft > limit) throw new IllegalArgumentException("the soft threshold lies at or below the limit");
        if ((metric == Metric.CONCURRENT) != (window instanceof Window.None)) {
            throw new IllegalArgumentException(metric == Metric.CONCURRENT ? "a concurrency limit has no window"
                    : "a " + metric.wire() + " limit needs a window (minute, hour, day, month or rolling:<seconds>)");
        }
    }

    /** What a refusal by this policy is called in the error's {@code code}. */
    public String refusalCode() {
        if (metric == Metric.CONCURRENT) return "concurrency_limit_exceeded";
        if (scope instanceof Scope.EndUser) return "end_user_quota_exceeded";
        if (metric == Metric.COST) return "budget_exceeded";
        return "rate_limit_exceeded";
    }

    /** "100 requests per day", for error messages. */
    public String describe() {
        String what = switch (metric) {
            case REQUESTS -> limit + " requests";
            case TOKENS -> limit + " tokens";
            case COST -> String.format(java.util.Locale.ROOT, "$%.6f", limit / 1e6).replaceAll("0+$", "").replaceAll("\\.$", "");
            case CONCURRENT -> limit + " concurrent requests";
        };
        String per = switch (window) {
            case Window.Calendar c -> " per " + c.id() + " (UTC)";
            case Window.Rolling r -> " per " + r.seconds() + " s (rolling)";
            case Window.None n -> "";
        };
        String whose = switch (scope) {
            case Scope.Key k -> "key " + k.keyId();
            case Scope.Path p -> "user path " + p.path();
            case Scope.EndUser e -> "each end user of " + (e.within() instanceof Scope.Key k ? "key " + k.keyId()
                    : "user path " + ((Scope.Path) e.within()).path());
        };
        return what + per + " for " + whose;
    }
}
