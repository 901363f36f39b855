package dev.skiff.routing;

import java.util.List;

/**
 * The targets one request may try, best first: the primary, then its failover list. {@code
 * retries} says whether a target may be tried again before the next one.
 */
public record Plan(List<Route> routes, boolean retries) {
    public Plan {
        routes = List.copyOf(routes);
    }

    public Route first() {
        return routes.getFirst();
    }

    /** Whether a second attempt can ever happen: otherwise the request is sent as if there were no plan. */
    public boolean canRetry() {
        return retries || routes.size() > 1;
    }
}
