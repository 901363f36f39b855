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

    public Route resolve(String model) throws RouteException {
        return resolveAll(model).getFirst();
    }

    /**
     * Every route that serves {@code model}, best first: one for {@code provider/model} or a name one
     * provider serves; for a name several serve, those the configured priority names, in its order.
     */
    public List<Route> resolveAll(String model) throws RouteException {
        int slash = model.indexOf('/');
        if (slash > 0) {
            Provider p = byName.get(model.substring(0, slash));
            if (p != null) {
                String rest = model.substring(slash + 1);
                if (rest.isBlank()) throw new RouteException(400, "invalid_model", "The model '" + model + "' names no model after the provider.");
                return List.of(new Route(p, rest));
            }
        }
        List<Provider> candidates = catalog.snapshot().providersByModel().get(model);
        if (candidates == null || candidates.isEmpty()) {
            throw new RouteException(404, "model_not_found", "The model '" + model + "' does not exist or no configured provider serves it."
                    + (byName.isEmpty() ? " No provider is configured." : " Use provider/model to send it to a provider directly; providers: "
                    + String.join(", ", byName.keySet().stream().sorted().toList()) + ".")
                    + catalog.snapshot().notServedNote());
        }
        if (candidates.size() > 1 && !priority.isEmpty()) {
            List<Route> ordered = new java.util.ArrayList<>(candidates.size());
            for (String name : priority) {
                for (Provider p : candidates) if (p.name().equals(name)) ordered.add(new Route(p, model));
            }
            if (!ordered.isEmpty()) return ordered;
        }
        if (candidates.size() > 1) {
            String names = candidates.stream().map(p -> p.name() + "/" + model).collect(Collectors.joining(", "));
            throw new RouteException(400, "ambiguous_model", "The model '" + model + "' is served by several providers; ask for one of: " + names + ".");
        }
        return List.of(new Route(candidates.getFirst(), model));
    }
}
