package dev.skiff.routing;

import dev.skiff.provider.Provider;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Resolves the {@code model} a client asked for. {@code provider/model} goes to that provider even
 * when its listing does not name the model (listings lag; the provider decides). A bare name goes to
 * the one provider that lists or declares it; a name several providers serve is refused with the
 * candidates, so traffic never lands somewhere the client did not intend, unless a provider priority
 * is configured ({@code SKIFF_PROVIDER_PRIORITY}): then it goes to the first of them that serves it.
 */
public final class ModelRouter {
    private final ModelCatalog catalog;
    private final Map<String, Provider> byName;
    private final List<String> priority; // providers in the order that serves a bare name several list; empty: refuse such a name

    public ModelRouter(ModelCatalog catalog) {
        this(catalog, List.of());
    }

    public ModelRouter(ModelCatalog catalog, List<String> priority) {
        this.catalog = catalog;
        this.byName = catalog.providers().stream().collect(Collectors.toUnmodifiableMap(Provider::name, p -> p));
        this.priority = List.copyOf(priority);
    }

    /** The provider of that name, or null. */
    public Provider provider(String name) {
        return byName.get(name);
    }

    /** The route of {@code model}: the first by priority when several providers serve it and a priority is configured. */
    public Route resolve(String model) throws RouteException {
        int slash = model.indexOf('/');
        if (slash > 0) {
            Provider p = byName.get(model.substring(0, slash));
            if (p != null) {
                String rest = model.substring(slash + 1);
                if (rest.isBlank()) throw new RouteException(400, "invalid_model", "The model '" + model + "' names no model after the provider.");
                return new Route(p, rest);
            }
        }
        List<Provider> candidates = candidates(model);
        return candidates.size() == 1 ? new Route(candidates.getFirst(), model) : prioritized(model, candidates).getFirst();
    }

    /**
     * Every route that serves {@code model}, best first: one for {@code provider/model} or a name one
     * provider serves; for a name several serve, those the configured priority names, in its order.
     */
    public List<Route> resolveAll(String model) throws RouteException {
        int slash = model.indexOf('/');
        if (slash > 0 && byName.containsKey(model.substring(0, slash))) return List.of(resolve(model));
        List<Provider> candidates = candidates(model);
        return candidates.size() == 1 ? List.of(new Route(candidates.getFirst(), model)) : prioritized(model, candidates);
    }

    private List<Provider> candidates(String model) throws RouteException {
        List<Provider> candidates = catalog.snapshot().providersByModel().get(model);
        if (candidates == null || candidates.isEmpty()) {
            throw new RouteException(404, "model_not_found", "The model '" + model + "' does not exist or no configured provider serves it."
                    + (byName.isEmpty() ? " No provider is configured." : " Use provider/model to send it to a provider directly; providers: "
                    + String.join(", ", byName.keySet().stream().sorted().toList()) + ".")
                    + catalog.snapshot().notServedNote());
        }
        return candidates;
    }

    /** Several providers serve {@code model}: those the priority names, in its order; refused when it names none (or there is none). */
    private List<Route> prioritized(String model, List<Provider> candidates) throws RouteException {
        List<Route> ordered = new java.util.ArrayList<>(candidates.size());
        for (String name : priority) {
            for (Provider p : candidates) if (p.name().equals(name)) ordered.add(new Route(p, model));
        }
        if (!ordered.isEmpty()) return ordered;
        String names = candidates.stream().map(p -> p.name() + "/" + model).collect(Collectors.joining(", "));
        throw new RouteException(400, "ambiguous_model", "The model '" + model + "' is served by several providers; ask for one of: " + names + ".");
    }
}
