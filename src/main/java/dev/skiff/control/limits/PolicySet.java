package dev.skiff.control.limits;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable snapshot of the limit policies, indexed for the request path: which apply to a
 * request is a few map lookups (its key, each ancestor of its user path, its end user's overrides),
 * and with no policy at all one field read.
 */
public final class PolicySet {
    public static final PolicySet EMPTY = new PolicySet(List.of());

    private final List<LimitPolicy> all;
    private final Map<String, List<LimitPolicy>> byKey = new HashMap<>(); // key and end-user defaults under a key
    private final Map<String, List<LimitPolicy>> byPath = new HashMap<>(); // path and end-user defaults under a path
    private final Map<String, List<LimitPolicy>> overrides = new HashMap<>(); // within.id() + "|" + end user
    private final boolean hasPaths;

    public PolicySet(List<LimitPolicy> policies) {
        this.all = List.copyOf(policies);
        for (LimitPolicy p : all) {
            switch (p.scope()) {
                case Scope.Key k -> byKey.computeIfAbsent(k.keyId(), x -> new ArrayList<>()).add(p);
                case Scope.Path q -> byPath.computeIfAbsent(q.path(), x -> new ArrayList<>()).add(p);
                case Scope.EndUser e when e.endUser() != null ->
                        overrides.computeIfAbsent(e.within().id() + "|" + e.endUser(), x -> new ArrayList<>()).add(p);
                case Scope.EndUser e -> {
                    if (e.within() instanceof Scope.Key k) byKey.computeIfAbsent(k.keyId(), x -> new ArrayList<>()).add(p);
                    else byPath.computeIfAbsent(((Scope.Path) e.within()).path(), x -> new ArrayList<>()).add(p);
                }
            }
        }
        hasPaths = !byPath.isEmpty();
    }

    public List<LimitPolicy> all() {
        return all;
    }

    public boolean isEmpty() {
        return all.isEmpty();
    }

    /** What a request is counted in, one charge per counter, with the amounts to reserve. */
    public record Request(String keyId, List<LimitPolicy> keyPolicies, String userPath, String endUser) {}

    /**
     * The charges of a request: every policy of its key (the store's and the key's own), of its user
     * path and each path above it, and of its end user under those (an override replacing the
     * default of the same metric and window). Two policies on one counter keep the lower limit.
     */
    public List<Charge> charges(Request r, long tokens, long costMicros) {
        if (all.isEmpty() && r.keyPolicies().isEmpty()) return List.of();
        List<Charge> out = new ArrayList<>(4);
        // The scopes' ids (overrides' names) are made only when an end user may have overrides.
        boolean named = r.endUser() != null && !overrides.isEmpty();
        if (r.keyId() != null) {
            String key = named ? new Scope.Key(r.keyId()).id() : null;
            add(out, byKey.get(r.keyId()), key, r, tokens, costMicros);
            add(out, r.keyPolicies(), key, r, tokens, costMicros);
        }
        if (hasPaths && r.userPath() != null) {
            String path = r.userPath();
            add(out, byPath.get("/"), named ? new Scope.Path("/").id() : null, r, tokens, costMicros);
            for (int i = path.indexOf('/', 1); ; i = path.indexOf('/', i + 1)) {
                String ancestor = i < 0 ? path : path.substring(0, i);
                if (ancestor.length() > 1) add(out, byPath.get(ancestor), named ? new Scope.Path(ancestor).id() : null, r, tokens, costMicros);
                if (i < 0) break;
            }
        }
        return out;
    }

    /** @param withinId the id of the scope {@code policies} belong to; null when no override can apply (none, or no end user) */
    private void add(List<Charge> out, List<LimitPolicy> policies, String withinId, Request r, long tokens, long costMicros) {
        // The override's name is built only when there are overrides at all (it is a string per request).
        List<LimitPolicy> own = withinId == null ? null : overrides.get(withinId + "|" + r.endUser());
        if (policies == null && own == null) return;
        if (policies != null) {
            for (LimitPolicy p : policies) {
                if (p.scope() instanceof Scope.EndUser e) {
                    if (r.endUser() == null) continue; // no end user named: end-user quotas do not apply
                    if (e.endUser() != null) {
                        if (e.endUser().equals(r.endUser())) put(out, p, r.endUser(), tokens, costMicros); // a key's own override
                        continue;
                    }
                    if (overridden(own, p) || overridden(policies, p, r.endUser())) continue;
                    put(out, p, r.endUser(), tokens, costMicros);
                } else {
                    put(out, p, null, tokens, costMicros);
                }
            }
        }
        if (own != null) {
            for (LimitPolicy p : own) put(out, p, r.endUser(), tokens, costMicros);
        }
    }

    private static boolean overridden(List<LimitPolicy> own, LimitPolicy dflt) {
        if (own == null) return false;
        for (LimitPolicy o : own) if (o.metric() == dflt.metric() && o.window().equals(dflt.window())) return true;
        return false;
    }

    /** A key's own rules may hold an override for this end user too. */
    private static boolean overridden(List<LimitPolicy> policies, LimitPolicy dflt, String user) {
        for (LimitPolicy o : policies) {
            if (o.scope() instanceof Scope.EndUser e && user.equals(e.endUser()) && o.metric() == dflt.metric()
                    && o.window().equals(dflt.window())) return true;
        }
        return false;
    }

    /**
     * The counter's name: the scope's id (an end-user policy's with the request's end user, whom its
     * counter counts), the metric and the window, as {@code ek:KEY|USER|requests|day}. Built in one
     * concatenation, without the scope's id as a string of its own: it is made per charge of every request.
     */
    static String counter(LimitPolicy p, String endUser) {
        String metric = p.metric().wire(), window = p.window().id();
        // instanceof, not a pattern switch: the switch's bootstrap dispatch is not free on the request path
        Scope scope = p.scope();
        if (scope instanceof Scope.Key k) return "k:" + k.keyId() + "|" + metric + "|" + window;
        if (scope instanceof Scope.Path q) return "p:" + q.path() + "|" + metric + "|" + window;
        Scope within = ((Scope.EndUser) scope).within();
        return within instanceof Scope.Key k ? "ek:" + k.keyId() + "|" + endUser + "|" + metric + "|" + window
                : "ep:" + ((Scope.Path) within).path() + "|" + endUser + "|" + metric + "|" + window;
    }

    /** {@code endUser}: the request's, for an end-user policy (its counter is that end user's); null for the others. */
    private static void put(List<Charge> out, LimitPolicy p, String endUser, long tokens, long costMicros) {
        long amount = switch (p.metric()) {
            case REQUESTS, CONCURRENT -> 1;
            case TOKENS -> Math.max(0, tokens);
            case COST -> Math.max(0, costMicros);
        };
        String counter = counter(p, endUser);
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).counter().equals(counter)) {
                if (p.limit() < out.get(i).limit()) out.set(i, new Charge(counter, p, amount));
                return;
            }
        }
        out.add(new Charge(counter, p, amount));
    }
}
